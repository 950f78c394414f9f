"""A chunk's items are read in two statements and its held deliveries settled in one, by the
messages carried: a message cancelled before the flush is neither carried nor touched, and
every held delivery of a message carried is marked, whatever its channel."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notify.models import ApiKey, Delivery, Digest, Notification, Template
from notify.services.accepting.batch import notification_submit
from notify.services.accepting.digest_flush import digests_claim, digests_flush
from notify.services.accepting.notifications import notification_cancel
from notify.services.digests.gathering import digests_flush_now
from tests.conftest import Stack

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATE = {
    "email": {"subject": "{{ digest.count }} new", "text": "{{ body }}"},
    "sms": {"text": "{{ digest.count }} new"},
}


@pytest.fixture(autouse=True)
def _no_background_worker(_stack_session: Stack) -> None:
    _stack_session.stop()  # these rows are committed: only the flush here may take them


@pytest.fixture
def key(api_key: tuple[ApiKey, str]) -> ApiKey:
    Template.objects.create(tenant=api_key[0].tenant, key="t", content=TEMPLATE)
    return api_key[0]


def _join(api_key: ApiKey, who: str, n: int, channels: list[str]) -> Notification:
    data = {
        "recipient": {"id": who, "email": f"{who}@example.com", "phone": "+15555550100"},
        "template": "t",
        "channels": channels,
        "data": {"body": f"m{n}"},
        "digest": {"key": "k", "window": "1h"},
    }
    return notification_submit(
        api_key=api_key, data=data, idempotency_key=None, fingerprint=""
    ).notification


def _flush() -> tuple[dict[Any, Any], list[str]]:
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    token, ids = digests_claim(limit=10)
    with CaptureQueriesContext(connection) as queries:
        results = digests_flush(digest_ids=ids, token=token)
    return results, [q["sql"] for q in queries]


def test_items_are_read_in_two_statements_and_held_deliveries_settled_in_one(
    key: ApiKey,
) -> None:
    for who in ("ada", "bob"):
        for n in range(3):
            _join(key, who, n, ["email"])

    results, sql = _flush()

    assert {r.status for r in results.values()} == {"sent"}
    selects = [s for s in sql if s.lstrip().startswith("SELECT")]
    assert len([s for s in selects if "FROM notify_notification" in s]) == 1
    # Of the held deliveries only their messages' ids are read; the update finds them again
    # by their message, so their own ids never travel.
    (held,) = [s for s in selects if "FROM notify_delivery" in s]
    assert held.split("FROM")[0].split() == ["SELECT", "DISTINCT", "d.notification_id::text"]
    assert len([s for s in sql if s.lstrip().startswith("UPDATE notify_delivery")]) == 1


def test_a_cancelled_message_is_not_carried_and_every_channel_held_is_settled(
    key: ApiKey,
) -> None:
    kept = _join(key, "ada", 1, ["email", "sms"])
    gone = _join(key, "ada", 2, ["email"])
    notification_cancel(notification=gone)

    results, _ = _flush()

    (result,) = results.values()
    digest = Digest.objects.get()
    assert result.status == "sent" and digest.item_ids == [str(kept.pk)]
    note = f"sent in digest {digest.pk} as notification {result.notification_id}"
    assert sorted(
        Delivery.objects.filter(notification=kept).values_list(
            "channel", "status", "error_code", "last_error"
        )
    ) == [("email", "skipped", "digested", note), ("sms", "skipped", "digested", note)]
    (cancelled,) = Delivery.objects.filter(notification=gone)
    assert cancelled.status == "cancelled"
