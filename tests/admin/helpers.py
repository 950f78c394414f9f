"""Rows for the admin tests, built straight with the ORM (the pipeline is not under test
here), and small helpers for reading what the admin pages show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.utils import timezone

from notify.models import Delivery, DeliveryAttempt, Notification, Recipient

ADDRESSES = {
    "email": "alice@example.com",
    "sms": "+14155552671",
    "push": "abcdTOKEN-0123456789-ZYXWVUTSRQ-wxyz",
}


def make_recipient(
    external_id: str = "user-1",
    email: str = "alice@example.com",
    phone: str = "+14155552671",
    tenant: str = "default",
) -> Recipient:
    return Recipient.objects.create(
        tenant=tenant, external_id=external_id, email=email, phone=phone
    )


def make_notification(
    recipient: Recipient, *deliveries: tuple[str, str], priority: int = 2, category: str = "account"
) -> Notification:
    """`deliveries` as (channel, status) pairs."""
    notification = Notification.objects.create(
        recipient=recipient,
        priority=priority,
        category=category,
        content={"email": {"subject": "Hello", "text": "Hi <b>there</b>"}},
    )
    for channel, status in deliveries:
        make_delivery(notification, channel, status)
    return notification


def make_delivery(
    notification: Notification,
    channel: str,
    status: str,
    *,
    to: str = "",
    provider: str = "",
    error_code: str = "",
    **fields: Any,
) -> Delivery:
    to = to or {"email": notification.recipient.email, "sms": notification.recipient.phone}.get(
        channel, ADDRESSES["push"]
    )
    return Delivery.objects.create(
        notification=notification,
        channel=channel,
        status=status,
        to=to,
        provider=provider or {"email": "smtp", "sms": "twilio", "push": "fcm"}[channel],
        error_code=error_code,
        next_attempt_at=timezone.now(),
        **fields,
    )


def make_attempt(
    delivery: Delivery,
    number: int,
    outcome: str,
    *,
    error_code: str = "",
    error_message: str = "",
    duration_ms: int = 120,
) -> DeliveryAttempt:
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        provider=delivery.provider,
        outcome=outcome,
        error_code=error_code,
        error_message=error_message,
        duration_ms=duration_ms,
        started_at=timezone.now() - timedelta(minutes=10 - number),
    )


def shown(response: Any) -> list[Any]:
    """The objects on a changelist page, in display order."""
    assert response.status_code == 200, response.content[:2000]
    return list(response.context["cl"].result_list)


def shown_ids(response: Any) -> set[Any]:
    return {obj.pk for obj in shown(response)}


def messages_of(response: Any) -> list[str]:
    """The messages shown on the page a (followed) response ended on."""
    return [str(m) for m in response.context["messages"]]


def run_action(client: Client, url: str, action: str, objects: list[Any]) -> Any:
    return client.post(
        url,
        {"action": action, "index": 0, ACTION_CHECKBOX_NAME: [str(o.pk) for o in objects]},
        follow=True,
    )
