"""Settling SMS sends whose outcome was never seen: Twilio (the sandbox's stand-in) is asked
before anything is sent again, so a text is neither lost nor doubled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from channels import get_channel
from notify.models import Delivery, Notification, Recipient
from notify.services.delivering.reconcile import deliveries_reconcile
from tests.channels.support import message
from tests.harness import Sandbox

TO = "+14155551100"


def _stuck(body: str, *, attempts: int = 1, expired: bool = True) -> Delivery:
    person, _ = Recipient.objects.get_or_create(external_id=f"sms-{body}", defaults={"phone": TO})
    notification = Notification.objects.create(recipient=person, content={"sms": {"text": body}})
    until = timedelta(seconds=-1) if expired else timedelta(minutes=1)
    return Delivery.objects.create(
        notification=notification,
        channel="sms",
        to=TO,
        status="sending",
        attempts=attempts,
        max_attempts=3,
        next_attempt_at=timezone.now(),
        lease_until=timezone.now() + until,
    )


def _twilio_has(body: str) -> str:
    return get_channel("sms").send(message(TO, {"text": body}))


def test_a_send_twilio_has_is_marked_sent_with_its_sid(db: Any, sandbox: Sandbox) -> None:
    sid = _twilio_has("your code is 1234")
    delivery = _stuck("your code is 1234")

    assert deliveries_reconcile() == 1

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.provider, row.provider_message_id) == ("sent", "twilio", sid)
    assert (row.lease_until, row.error_code) == (None, "")
    assert len(sandbox.accepted(provider="twilio")) == 1  # nothing was sent again


def test_a_send_twilio_never_got_goes_back_in_line(db: Any, sandbox: Sandbox) -> None:
    _twilio_has("another text")
    delivery = _stuck("your code is 5678")

    assert deliveries_reconcile() == 1

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.error_code, row.lease_until) == ("pending", "unsent", None)
    assert row.next_attempt_at <= timezone.now()


def test_a_message_another_delivery_owns_is_not_claimed_twice(db: Any, sandbox: Sandbox) -> None:
    sid = _twilio_has("same words")
    owner = _stuck("same words")
    Delivery.objects.filter(id=owner.id).update(status="sent", provider_message_id=sid)
    second = _stuck("same words")

    deliveries_reconcile()

    assert Delivery.objects.get(id=second.id).status == "pending"


def test_a_send_never_received_on_the_last_attempt_fails(db: Any, sandbox: Sandbox) -> None:
    delivery = _stuck("last try", attempts=3)

    deliveries_reconcile()

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.error_code) == ("failed", "unsent")


def test_a_fallback_notification_goes_on_to_its_next_channel_when_the_text_never_left(
    db: Any, sandbox: Sandbox
) -> None:
    delivery = _stuck("last try, then email", attempts=3)
    notification = delivery.notification
    Recipient.objects.filter(id=notification.recipient_id).update(email="fb@example.com")
    Notification.objects.filter(id=notification.id).update(
        strategy="fallback",
        channel_order=["sms", "email"],
        content={**notification.content, "email": {"subject": "s", "text": "t"}},
    )

    deliveries_reconcile()

    assert sorted(notification.deliveries.values_list("channel", "to", "status")) == [
        ("email", "fb@example.com", "pending"),
        ("sms", TO, "failed"),
    ]


def test_a_send_still_within_its_settle_window_is_left_alone(db: Any, sandbox: Sandbox) -> None:
    _twilio_has("not yet")
    delivery = _stuck("not yet", expired=False)

    assert deliveries_reconcile() == 0
    assert Delivery.objects.get(id=delivery.id).status == "sending"
