"""Provider reports applied to deliveries: only forward, only on the reporting provider's
channel and address, matched by our id or the provider's message id; a bounce suppresses the
address in the delivery's tenant."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from notify.models import Delivery, Suppression
from notify.services.delivering.reports import delivery_apply_report
from tests.services import rows

pytestmark = pytest.mark.django_db


def _one(status: str = "sent", **fields: Any) -> Delivery:
    notification = rows.notification_for(f"u-{uuid.uuid4().hex[:8]}", tenant="acme")
    (delivery,) = rows.deliveries(notification, 1, to="to@example.com", status=status, **fields)
    return delivery


def _status(delivery: Delivery) -> tuple[str, str]:
    row = Delivery.objects.get(pk=delivery.pk)
    return row.status, row.error_code


def test_a_delivered_report_moves_a_sent_delivery_forward_once(db: Any) -> None:
    delivery = _one("sent")

    assert delivery_apply_report(channel="email", status="delivered", delivery_id=str(delivery.pk))
    assert _status(delivery) == ("delivered", "")
    assert Delivery.objects.get(pk=delivery.pk).delivered_at is not None
    # Late, repeated or out of order: nothing moves back.
    assert not delivery_apply_report(channel="email", status="sent", delivery_id=str(delivery.pk))
    assert not delivery_apply_report(channel="email", status="failed", delivery_id=str(delivery.pk))
    assert _status(delivery) == ("delivered", "")


def test_a_failed_report_records_why_and_a_bounce_suppresses_the_address(db: Any) -> None:
    delivery = _one("sent", provider_message_id="pm-1")

    changed = delivery_apply_report(
        channel="email",
        status="failed",
        provider_message_id="pm-1",
        address="TO@example.com",
        error_code="bounced",
        detail="mailbox unknown",
        suppress_reason=Suppression.Reason.BOUNCED,
    )

    assert changed and _status(delivery) == ("failed", "bounced")
    assert list(Suppression.objects.values_list("tenant", "channel", "address", "reason")) == [
        ("acme", "email", "to@example.com", "bounced")
    ]


def test_an_ambiguous_failure_is_settled_by_the_providers_word(db: Any) -> None:
    delivery = _one("failed", error_code="ambiguous")
    assert delivery_apply_report(channel="email", status="sent", delivery_id=str(delivery.pk))
    assert _status(delivery) == ("sent", "")

    final = _one("failed", error_code="permanent")
    assert not delivery_apply_report(channel="email", status="sent", delivery_id=str(final.pk))
    assert _status(final) == ("failed", "permanent")


@pytest.mark.parametrize(
    "report",
    [
        {"channel": "sms"},  # another provider's channel
        {"address": "someone-else@example.com"},  # another address
        {"delivery_id": "not-a-uuid"},
        {"delivery_id": None, "provider_message_id": "unknown"},
        {"delivery_id": None},  # names nothing
    ],
)
def test_a_report_about_another_message_changes_nothing(db: Any, report: dict[str, Any]) -> None:
    delivery = _one("sent")
    args = {"channel": "email", "delivery_id": str(delivery.pk), **report}

    assert not delivery_apply_report(status="failed", suppress_reason="bounced", **args)

    assert _status(delivery) == ("sent", "")
    assert not Suppression.objects.exists()
