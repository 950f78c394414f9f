"""The worker side of the delivery path: claim a batch of due deliveries of one channel, send
them concurrently through the channel, record every outcome under the claim's fencing token."""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from channels import DeliveryError, Message, get_channel
from notify.models.notifications import Delivery, Priority
from notify.services.doorbell import URGENT, bell_clear, bell_ring
from notify.services.outcomes import SendResult, deliveries_record
from notify.services.providers import (
    PAUSED_UNTIL_RESUMED,
    channel_paused,
    provider_wait,
    providers_for,
    rate_give_back,
    rate_take,
)
from notify.services.suppressions import suppressed

logger = logging.getLogger(__name__)

_CLAIM_SQL = """
UPDATE notify_delivery SET status = 'sending', lease_token = %(token)s,
       lease_until = now() + make_interval(secs => %(lease)s),
       attempts = attempts + 1, updated_at = now()
WHERE id IN (
    SELECT id FROM notify_delivery
    WHERE status = 'pending' AND channel = %(channel)s AND priority <= %(max_priority)s
      AND next_attempt_at <= now() AND (error_code = 'worker_lost') = %(quarantined)s
    ORDER BY priority, next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING id
"""


# Outcomes are written every this many completed sends, or this often, whichever first.
_FLUSH_COUNT = 25
_FLUSH_SECONDS = 0.05


@dataclass(frozen=True)
class DrainReport:
    claimed: int
    batches: int


@cache
def _pool() -> ThreadPoolExecutor:
    # Built on first use, inside the worker child (never before a fork).
    return ThreadPoolExecutor(
        max_workers=settings.NOTIFY_SEND_CONCURRENCY, thread_name_prefix="send"
    )


def deliveries_drain(*, channel: str, lane: str) -> DrainReport:
    """Claim and send batches until the channel has no due work, or the time budget is spent
    (then hand over to a fresh task so no Celery message stays unacked for long). Batches are
    sized by the provider's global rate limit and skipped while its circuit is open or it
    asked us to pause: the work stays pending, no attempt is spent."""
    bell_clear(channel=channel, lane=lane)
    deadline = time.monotonic() + settings.NOTIFY_DRAIN_BUDGET_SECONDS
    claimed = batches = 0
    while True:
        provider, wait = _choose_provider(channel)
        granted = 0
        if provider:
            granted, wait = rate_take(provider=provider, want=settings.NOTIFY_BATCH_SIZE)
        if not granted:
            # An operator's pause has no end to wait for: resuming rings the doorbell.
            if wait != PAUSED_UNTIL_RESUMED and _has_due_work(channel, lane):
                bell_ring(channel=channel, lane=lane, countdown=min(wait, 60.0) + 0.05)
            break
        token, deliveries = deliveries_claim(channel=channel, lane=lane, limit=granted)
        if not deliveries:
            # Deliveries whose worker died go one at a time: if one of them is what kills
            # workers, it takes down no one else, and runs out of attempts alone.
            token, deliveries = deliveries_claim(
                channel=channel, lane=lane, limit=1, quarantined=True
            )
        rate_give_back(provider=provider, count=granted - len(deliveries))
        if not deliveries:
            break
        batches += 1
        claimed += len(deliveries)
        deliveries_send(channel=channel, token=token, deliveries=deliveries, provider=provider)
        if time.monotonic() > deadline:
            bell_ring(channel=channel, lane=lane, force=True)
            break
    return DrainReport(claimed=claimed, batches=batches)


def _choose_provider(channel: str) -> tuple[str, float]:
    """The first provider for the channel that may be sent to now, else how long to wait
    (PAUSED_UNTIL_RESUMED while an operator has paused the channel or all its providers)."""
    if channel_paused(channel=channel):
        return "", PAUSED_UNTIL_RESUMED
    waits = []
    for provider in providers_for(channel):
        wait = provider_wait(provider=provider)
        if wait <= 0:
            return provider, 0.0
        waits.append(wait)
    return "", min(waits)


def _has_due_work(channel: str, lane: str) -> bool:
    max_priority = Priority.HIGH if lane == URGENT else Priority.LOW
    return Delivery.objects.filter(
        status="pending",
        channel=channel,
        priority__lte=max_priority,
        next_attempt_at__lte=timezone.now(),
    ).exists()


def deliveries_claim(
    *, channel: str, lane: str, limit: int, quarantined: bool = False
) -> tuple[uuid.UUID, list[Delivery]]:
    """Take exclusive, leased ownership of up to `limit` due deliveries. The claim commits
    before any provider call, so a task run twice (or a message delivered twice) sends once.
    `quarantined` claims among deliveries whose previous worker died mid-send instead."""
    token = uuid.uuid4()
    max_priority = Priority.HIGH if lane == URGENT else Priority.LOW
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "token": token,
                "lease": settings.NOTIFY_LEASE_SECONDS,
                "channel": channel,
                "max_priority": int(max_priority),
                "limit": limit,
                "quarantined": quarantined,
            },
        )
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return token, []
    deliveries = list(
        Delivery.objects.filter(id__in=ids)
        .select_related("notification")
        .only(
            "id",
            "channel",
            "to",
            "priority",
            "attempts",
            "max_attempts",
            "device_id",
            "pinned_provider",
            "notification__id",
            "notification__content",
            "notification__category",
            "notification__tenant",
            "notification__created_at",
        )
    )
    return token, deliveries


def deliveries_send(
    *, channel: str, token: uuid.UUID, deliveries: list[Delivery], provider: str = ""
) -> None:
    """Send concurrently and write outcomes back in small groups as sends complete: if this
    worker dies, only the last few accepted sends are unrecorded (and so may be resent)."""
    handler = get_channel(channel)
    by_id = {str(d.id): d for d in deliveries}
    # A bounce or STOP may have arrived since the notification was accepted.
    done = [(by_id[str(i)], result) for i, result in _suppressed_now(channel, deliveries).items()]
    skipped = {d.id for d, _ in done}
    futures = [
        _pool().submit(_send_one, handler, _message(d, provider))
        for d in deliveries
        if d.id not in skipped
    ]
    flushed_at = time.monotonic()
    for future in as_completed(futures):
        result = future.result()
        done.append((by_id[result.delivery_id], result))
        if len(done) >= _FLUSH_COUNT or time.monotonic() - flushed_at > _FLUSH_SECONDS:
            _record(channel, token, done)
            done, flushed_at = [], time.monotonic()
    _record(channel, token, done)


def _record(channel: str, token: uuid.UUID, done: list[tuple[Delivery, SendResult]]) -> None:
    if done:
        deliveries_record(
            channel=channel,
            token=token,
            deliveries=[d for d, _ in done],
            results=[r for _, r in done],
        )


def _suppressed_now(channel: str, deliveries: list[Delivery]) -> dict[Any, SendResult]:
    out: dict[Any, SendResult] = {}
    by_tenant: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_tenant.setdefault(delivery.notification.tenant, []).append(delivery)
    for tenant, group in by_tenant.items():
        reasons = suppressed(tenant=tenant, channel=channel, addresses=[d.to for d in group])
        for delivery in group:
            if delivery.to in reasons:
                out[delivery.id] = SendResult.skip(
                    str(delivery.id), f"address suppressed ({reasons[delivery.to]})"
                )
    return out


def _message(delivery: Delivery, provider: str) -> Message:
    notification = delivery.notification
    return Message(
        delivery_id=str(delivery.id),
        notification_id=str(notification.id),
        to=delivery.to,
        content=notification.content.get(delivery.channel, {}),
        priority=Priority(delivery.priority).label,
        category=notification.category,
        provider=delivery.pinned_provider or provider,
    )


def _send_one(handler: object, message: Message) -> SendResult:
    started: datetime = timezone.now()
    clock = time.perf_counter()
    provider = ""
    try:
        provider = message.provider or handler.provider  # type: ignore[attr-defined]
        provider_id = handler.send(message)  # type: ignore[attr-defined]
        error = None
    except DeliveryError as exc:
        provider_id, error = "", exc
    except Exception as exc:
        # A bug or an SDK surprise: retry it like a transient error, but say so loudly.
        logger.exception(
            "%s: unexpected error sending delivery %s", provider or "?", message.delivery_id
        )
        provider_id = ""
        error = DeliveryError(f"unexpected {type(exc).__name__}: {exc}", code="internal")
    return SendResult(
        delivery_id=message.delivery_id,
        provider=provider,
        provider_message_id=provider_id,
        error=error,
        started_at=started,
        duration_ms=int((time.perf_counter() - clock) * 1000),
    )
