"""A batch's rounds and its per-item idempotency answers, before any work is done."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import ApiKey
from notify.services.accepting.batch import notification_submit
from notify.services.accepting.batch_keys import (
    BatchItem,
    batch_keys_lock,
    batch_replays,
    batch_rounds,
)
from notify.services.accepting.notifications import Accepted, IdempotencyMismatch


def _item(person: str, key: str | None = None, fingerprint: str = "f") -> BatchItem:
    return BatchItem({"recipient": {"id": person}}, key, fingerprint)


def test_an_item_waits_one_round_after_the_last_earlier_one_with_its_person_or_key() -> None:
    items = [_item("a"), _item("b", "k1"), _item("a"), _item("c", "k1"), _item("d"), _item("c")]

    assert batch_rounds(items) == [[0, 1, 4], [2, 3], [5]]


@pytest.mark.django_db
def test_keys_used_before_are_answered_and_the_rest_go_on(api_key: tuple[ApiKey, str]) -> None:
    key, _ = api_key
    first = notification_submit(
        api_key=key,
        data={
            "recipient": {"id": "a", "email": "a@example.com"},
            "content": {"email": {"subject": "s", "text": "t"}},
        },
        idempotency_key="used",
        fingerprint="same",
    )
    items = [_item("a", "used", "same"), _item("b", "used", "other"), _item("c", "new")]
    results: list[Any] = [None] * 3

    rest = batch_replays(key.tenant, items, [0, 1, 2], results)

    assert rest == [2]
    assert isinstance(results[0], Accepted) and results[0].replayed
    assert results[0].notification.pk == first.notification.pk
    assert isinstance(results[1], IdempotencyMismatch)
    assert batch_keys_lock(key.tenant, {"used", "new"}) == set()  # nobody else holds them
