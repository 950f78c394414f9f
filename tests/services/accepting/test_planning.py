"""Planning a notification's deliveries: reachable channels, skips with their reasons,
quiet hours, and the "fallback" strategy moving to the next channel after a failure."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from django.utils import timezone

from notify.models import Delivery, Device, Notification, Recipient
from notify.services.accepting.planning import deliveries_fall_back, deliveries_plan
from notify.services.recipients.suppressions import suppression_add

CONTENT = {"email": {"subject": "s", "text": "t"}, "sms": {"text": "t"}, "push": {"title": "t"}}


def _plan(person: Recipient, channels: list[str] | None = None, **fields: Any) -> list[Any]:
    notification = Notification.objects.create(recipient=person, content=CONTENT, **fields)
    planned = deliveries_plan(notification, person, CONTENT, channels)
    return [(d.channel, d.to, d.status, d.error_code) for d in planned]


def test_by_default_every_reachable_channel_gets_a_delivery(db: Any) -> None:
    person = Recipient.objects.create(
        external_id="all", email="a@example.com", phone="+14155550800"
    )
    Device.objects.create(recipient=person, token="tok-1")
    Device.objects.create(recipient=person, token="tok-dead", active=False)

    assert _plan(person) == [
        ("email", "a@example.com", "pending", ""),
        ("sms", "+14155550800", "pending", ""),
        ("push", "tok-1", "pending", ""),
    ]


def test_an_unreachable_channel_is_skipped_only_when_asked_for(db: Any) -> None:
    person = Recipient.objects.create(external_id="mail-only", email="m@example.com")

    assert _plan(person) == [("email", "m@example.com", "pending", "")]
    assert _plan(person, ["email", "sms", "push"]) == [
        ("email", "m@example.com", "pending", ""),
        ("sms", "", "skipped", "no_contact"),
        ("push", "", "skipped", "no_contact"),
    ]


def test_a_suppressed_address_is_skipped_for_its_tenant_only(db: Any) -> None:
    person = Recipient.objects.create(external_id="s", email="s@example.com")
    other = Recipient.objects.create(tenant="b", external_id="s", email="s@example.com")
    suppression_add(tenant="default", channel="email", address="S@example.com", reason="bounced")

    assert _plan(person, ["email"]) == [("email", "s@example.com", "skipped", "suppressed")]
    assert _plan(other, ["email"], tenant="b") == [("email", "s@example.com", "pending", "")]


def test_quiet_hours_hold_the_delivery_until_they_end(db: Any) -> None:
    now = timezone.now()
    start = (now - timedelta(hours=1)).time().replace(microsecond=0)
    end = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    person = Recipient.objects.create(
        external_id="q", email="q@example.com", quiet_hours_start=start, quiet_hours_end=end
    )
    notification = Notification.objects.create(recipient=person, content=CONTENT)

    [held] = deliveries_plan(notification, person, CONTENT, ["email"])

    assert (held.status, held.error_code) == ("pending", "quiet_hours")
    assert held.next_attempt_at > now + timedelta(minutes=50)
    assert held.next_attempt_at.astimezone(UTC).time() == end  # no time zone: UTC


def test_fallback_plans_the_first_reachable_channel_and_records_the_ones_passed_over(
    db: Any,
) -> None:
    person = Recipient.objects.create(external_id="fb", phone="+14155550801")

    planned = _plan(person, strategy="fallback", channel_order=["email", "sms", "push"])

    assert planned == [
        ("email", "", "skipped", "no_contact"),
        ("sms", "+14155550801", "pending", ""),
    ]


def test_after_a_permanent_failure_fallback_plans_the_next_channel(db: Any) -> None:
    person = Recipient.objects.create(
        external_id="fb2", email="fb@example.com", phone="+14155550802"
    )
    notification = Notification.objects.create(
        recipient=person, content=CONTENT, strategy="fallback", channel_order=["email", "sms"]
    )
    [email] = Delivery.objects.bulk_create(deliveries_plan(notification, person, CONTENT, None))
    Delivery.objects.filter(id=email.id).update(status="failed")

    added = deliveries_fall_back(failed_ids=[email.id])
    again = deliveries_fall_back(failed_ids=[email.id])

    assert (added, again) == (1, 0)  # sms tried once; nothing is left after it
    rows = notification.deliveries.order_by("channel").values_list("channel", "to", "status")
    assert list(rows) == [("email", "fb@example.com", "failed"), ("sms", "+14155550802", "pending")]
