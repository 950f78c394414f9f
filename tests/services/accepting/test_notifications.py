"""Accepting one notification (notification_submit, a batch of one): one transaction of
recipient, notification and planned deliveries; Idempotency-Keys replay the first notification
(tenant-scoped) or refuse a different body; cancel touches only deliveries no worker has
claimed; the derived notification status."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Delivery, Notification, Recipient
from notify.services.accepting.batch import notification_submit
from notify.services.accepting.notifications import (
    IdempotencyMismatch,
    NothingToSend,
    notification_cancel,
    notification_status,
    request_fingerprint,
)
from notify.services.access.apikeys import api_key_create

pytestmark = pytest.mark.django_db

PERSON = {"id": "u-1", "email": "u1@example.com"}
CONTENT = {"email": {"subject": "Hi", "text": "Hello"}}


def _create(
    key: Any, *, idempotency_key: str | None = None, fingerprint: str = "", **data: Any
) -> Any:
    return notification_submit(
        api_key=key,
        data={"recipient": PERSON, "content": CONTENT, **data},
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )


def test_a_notification_is_stored_with_its_recipient_and_deliveries() -> None:
    key = api_key_create(name="k", tenant="acme")[0]

    accepted = _create(key, category="news")

    assert not accepted.replayed
    row = Notification.objects.get(pk=accepted.notification.pk)
    assert (row.tenant, row.category, row.recipient.external_id) == ("acme", "news", "u-1")
    assert [(d.channel, d.to, d.status) for d in Delivery.objects.filter(notification=row)] == [
        ("email", "u1@example.com", "pending")
    ]


def test_nothing_to_send_stores_nothing() -> None:
    key = api_key_create(name="k")[0]
    with pytest.raises(NothingToSend):
        _create(key, recipient={"id": "nobody"})  # no address for any channel
    assert not Notification.objects.exists() and not Recipient.objects.exists()


def test_an_idempotency_key_replays_the_first_notification_across_the_tenants_keys() -> None:
    first_key = api_key_create(name="a", tenant="acme")[0]
    second_key = api_key_create(name="b", tenant="acme")[0]
    other_tenant = api_key_create(name="c", tenant="other")[0]
    body = request_fingerprint({"recipient": PERSON, "content": CONTENT})

    first = _create(first_key, idempotency_key="order-1", fingerprint=body)
    again = _create(second_key, idempotency_key="order-1", fingerprint=body)
    theirs = _create(other_tenant, idempotency_key="order-1", fingerprint=body)

    assert again.replayed and again.notification.pk == first.notification.pk
    assert [d.pk for d in again.deliveries] == [d.pk for d in first.deliveries]
    assert not theirs.replayed and theirs.notification.pk != first.notification.pk
    assert Notification.objects.count() == 2

    with pytest.raises(IdempotencyMismatch):
        _create(first_key, idempotency_key="order-1", fingerprint=request_fingerprint({"x": 1}))
    assert Notification.objects.count() == 2


def test_the_fingerprint_ignores_key_order() -> None:
    assert request_fingerprint({"a": 1, "b": [1, 2]}) == request_fingerprint({"b": [1, 2], "a": 1})
    assert request_fingerprint({"a": 1}) != request_fingerprint({"a": 2})


def test_cancel_leaves_deliveries_a_worker_already_claimed() -> None:
    key = api_key_create(name="k")[0]
    accepted = _create(
        key,
        recipient={**PERSON, "phone": "+14155550100"},
        content={**CONTENT, "sms": {"text": "Hello"}},
        channels=["email", "sms"],
    )
    Delivery.objects.filter(notification=accepted.notification, channel="sms").update(
        status="sending"
    )

    assert notification_cancel(notification=accepted.notification) == 1

    statuses = dict(
        Delivery.objects.filter(notification=accepted.notification).values_list("channel", "status")
    )
    assert statuses == {"email": "cancelled", "sms": "sending"}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["sent", "sending"], "sending"),
        (["failed", "pending"], "pending"),
        (["failed", "delivered"], "delivered"),
        (["delivered", "sent"], "sent"),
        (["cancelled", "failed"], "failed"),
        (["skipped", "cancelled"], "cancelled"),
        ([], "skipped"),
    ],
)
def test_a_notifications_status_is_derived_from_its_deliveries(
    statuses: list[str], expected: str
) -> None:
    assert notification_status([Delivery(status=s) for s in statuses]) == expected
