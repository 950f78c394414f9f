"""A batch is planned in bulk, but each item must get exactly what a single create would have
given it: the same channels, skips, holds, caps and rendered text."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from notify.models import ApiKey, Notification
from notify.services.accepting.batch import (
    BatchItem,
    notification_submit,
    notifications_submit_many,
)
from notify.services.accepting.notifications import Accepted, NothingToSend, request_fingerprint
from notify.services.accepting.submission import InvalidRequest
from notify.services.recipients.categories import category_save
from tests.services.audiences.test_fanout import MESSAGE, _outcome, _people, _unsigned

pytestmark = pytest.mark.django_db

INLINE = {"content": {"email": {"subject": "Receipt", "text": "Thanks"}, "sms": {"text": "Paid"}}}


def _requests(api_key: ApiKey) -> list[dict[str, Any]]:
    """Every rule once, across several categories, priorities and strategies in one batch."""
    category_save(tenant=api_key.tenant, key="security", name="Security", critical=True)
    people = _people(api_key)
    requests = [{**MESSAGE, "recipient": p} for p in people]
    requests += [
        {**INLINE, "recipient": p, "category": "billing", "priority": "high"} for p in people
    ]
    requests += [
        {
            **INLINE,
            "recipient": p,
            "category": "security",
            "strategy": "fallback",
            "channels": ["sms", "email"],
        }
        for p in people
    ]
    requests += [{**INLINE, "recipient": p, "priority": "critical"} for p in people]
    return requests


def _submit_many(key: ApiKey, requests: list[dict[str, Any]], prefix: str) -> list[Any]:
    return notifications_submit_many(
        api_key=key,
        items=[
            BatchItem(dict(r), f"{prefix}:{i}", request_fingerprint(r))
            for i, r in enumerate(requests)
        ],
    )


@override_settings(NOTIFY_FREQUENCY_CAP="")
def test_each_item_gets_what_a_single_create_gives_it(api_key: tuple[ApiKey, str]) -> None:
    key = api_key[0]
    requests = _requests(key)

    answers = _submit_many(key, requests, "batch")

    refused = 0
    for i, request in enumerate(requests):
        try:
            single = notification_submit(
                api_key=key, data=dict(request), idempotency_key=f"single:{i}", fingerprint=""
            ).notification
        except (InvalidRequest, NothingToSend) as exc:
            assert type(answers[i]) is type(exc), (i, request["recipient"]["id"])
            refused += 1
            continue
        assert isinstance(answers[i], Accepted), (i, answers[i])
        bulk = Notification.objects.get(idempotency_key=f"batch:{i}")
        assert _outcome(bulk) == _outcome(single), (i, request["recipient"]["id"])
        assert _unsigned(bulk.content) == _unsigned(single.content)
        assert (bulk.template_version, bulk.priority, bulk.category) == (
            single.template_version,
            single.priority,
            single.category,
        )
    # Nobody to reach: "nobody" unless channels are named (then skips are recorded), and
    # "phone-app" (push only) for inline content without push.
    assert refused == 5
    outcomes = {tuple(_outcome(n)) for n in Notification.objects.filter(tenant=key.tenant)}
    assert any(("email", "o@example.com", "skipped", "opted_out", False) in o for o in outcomes)


@override_settings(NOTIFY_FREQUENCY_CAP="2/1h")
def test_the_frequency_cap_counts_earlier_items_of_the_same_batch(
    api_key: tuple[ApiKey, str],
) -> None:
    key = api_key[0]

    def four(person: str) -> list[dict[str, Any]]:
        return [{**INLINE, "recipient": {"id": person, "email": f"{person}@example.com"}}] * 4

    singles = [
        notification_submit(api_key=key, data=dict(r), idempotency_key=None, fingerprint="")
        for r in four("one-by-one")
    ]
    batch = _submit_many(key, four("batched"), "cap")

    def statuses(answers: list[Accepted]) -> list[list[str]]:
        return [sorted(d.status for d in a.deliveries) for a in answers]

    assert statuses(batch) == statuses(singles) == [["pending"]] * 2 + [["skipped"]] * 2
