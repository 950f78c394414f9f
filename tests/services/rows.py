"""Rows and results the delivery-core tests build: due deliveries, and what a send returned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery, Notification, Recipient
from notify.models.notifications import Priority
from notify.services.delivering.outcomes import SendResult

CONTENT = {
    "email": {"subject": "s", "text": "t"},
    "sms": {"text": "t"},
    "push": {"title": "t"},
}


def notification_for(external_id: str, *, tenant: str = "default", **fields: Any) -> Notification:
    recipient = Recipient.objects.create(
        tenant=tenant, external_id=external_id, email=f"{external_id}@example.com"
    )
    return Notification.objects.create(
        tenant=tenant, recipient=recipient, content=CONTENT, **fields
    )


def deliveries(
    notification: Notification,
    count: int,
    *,
    channel: str = "email",
    priority: int = Priority.NORMAL,
    due_in: timedelta = timedelta(seconds=-1),
    to: str = "{i}@example.com",
    **fields: Any,
) -> list[Delivery]:
    now = timezone.now()
    fields.setdefault("max_attempts", 5)
    return Delivery.objects.bulk_create(
        [
            Delivery(
                notification=notification,
                channel=channel,
                to=to.format(i=i),
                priority=priority,
                next_attempt_at=now + due_in,
                **fields,
            )
            for i in range(count)
        ]
    )


def result(delivery: Delivery, provider: str = "smtp", error: DeliveryError | None = None) -> Any:
    return SendResult(
        delivery_id=str(delivery.id),
        provider=provider,
        provider_message_id="" if error else f"<{delivery.id}@notify.local>",
        error=error,
        started_at=timezone.now(),
        duration_ms=5,
    )


def forget_provider_state(client: redis.Redis) -> None:
    """No pause, open circuit, rate bucket or wake token left by an earlier test."""
    for pattern in ("notify:breaker:*", "notify:pause:*", "notify:rate:*", "notify:wake:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    for key in client.scan_iter("notify:bell:*"):
        client.delete(key)
