"""Rows and results the delivery-core tests build: due deliveries, deliveries as a claim leaves
them, what a send returned, and recording it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import redis
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery, Notification, Recipient
from notify.models.notifications import Priority
from notify.services.delivering.outcomes import SendResult, deliveries_record

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


UNAVAILABLE = DeliveryError("503 Service Unavailable", code="http_503")
INVALID = DeliveryError("invalid number", permanent=True, code="21211")


def throttled(retry_after: float | None) -> DeliveryError:
    return DeliveryError(
        "429 Too Many Requests", code="http_429", retry_after=retry_after, throttled=True
    )


def leased(
    notification: Notification,
    specs: list[dict[str, Any]],
    *,
    channel: str = "sms",
    token: uuid.UUID | None = None,
) -> tuple[uuid.UUID, list[Delivery]]:
    """Deliveries as a claim leaves them (`sending` under one token, the attempt counted):
    one per spec, each spec's fields over those defaults."""
    token = token or uuid.uuid4()
    made = []
    for i, spec in enumerate(specs):
        fields = {"attempts": 1, "to": f"+141555509{i:02d}", **spec}
        made += deliveries(
            notification,
            1,
            channel=channel,
            status="sending",
            lease_token=token,
            lease_until=timezone.now() + timedelta(minutes=1),
            **fields,
        )
    return token, made


def record(token: uuid.UUID, results: list[SendResult], *leased: Delivery, **kw: Any) -> None:
    deliveries_record(
        channel=kw.get("channel", "sms"), token=token, deliveries=list(leased), results=results
    )


def forget_provider_state(client: redis.Redis) -> None:
    """No pause, open circuit, rate bucket or wake token left by an earlier test."""
    for pattern in ("notify:breaker:*", "notify:pause:*", "notify:rate:*", "notify:wake:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    for key in client.scan_iter("notify:bell:*"):
        client.delete(key)
