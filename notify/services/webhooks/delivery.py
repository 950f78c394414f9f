"""Sending outbound webhooks: claim due outbox rows, POST them signed, record the answer.

Webhooks are a stream of the same outbox engine as deliveries
(notify/services/outbox/engine.py): a wake-up only says "webhooks are due" (webhooks_ring) and
beat wakes the stream every few seconds, so losing Redis loses no event. Rows are claimed with a
conditional UPDATE … SKIP LOCKED that also takes a lease (next_attempt_at moves past the send); the
outcome is written only while the claim's attempt number still holds.

Every URL is resolved and checked before each send, and the connection goes to the address
that was checked (targets.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import urllib3
from django.conf import settings
from django.db import connection
from django.utils import timezone

from notify.models.webhooks import WebhookDelivery, WebhookEndpoint
from notify.services.outbox.doorbell import WEBHOOKS, stream_ring
from notify.services.outbox.engine import Claimed, backoff_delay
from notify.services.webhooks.targets import (
    TargetRefused,
    TargetUnresolved,
    target_address,
    target_parse,
    target_post,
)

logger = logging.getLogger(__name__)

_CLAIM_SQL = """
UPDATE notify_webhookdelivery SET attempts = attempts + 1,
       next_attempt_at = now() + make_interval(secs => %(lease)s)
WHERE id IN (
    SELECT w.id FROM notify_webhookdelivery w
    JOIN notify_webhookendpoint e ON e.id = w.endpoint_id
    WHERE w.status = 'pending' AND w.next_attempt_at <= now() AND e.active
    ORDER BY w.next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE OF w SKIP LOCKED)
RETURNING id
"""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    response_status: int | None = None
    error: str = ""
    permanent: bool = False
    disable_endpoint: bool = False


# --- Signing and posting ------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of f"{timestamp}.{body}" under the endpoint's secret."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _attempt(row: WebhookDelivery) -> Outcome:
    endpoint = row.endpoint
    body = json.dumps(row.payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Notify-Webhooks/1",
        "Notify-Webhook-Id": str(row.event_id),
        "Notify-Webhook-Timestamp": timestamp,
        "Notify-Signature": "v1="
        + webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
    }
    try:
        target = target_parse(url=endpoint.url)
        address = target_address(
            target=target, allow_private=settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE
        )
        status, excerpt = target_post(target, address, body, headers)
    except TargetRefused as exc:
        return Outcome(ok=False, error=f"refused: {exc}", permanent=True)
    except (TargetUnresolved, urllib3.exceptions.HTTPError, OSError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:1000])
    except Exception as exc:
        logger.exception("webhooks: unexpected error posting event %s", row.event_id)
        return Outcome(ok=False, error=f"unexpected {type(exc).__name__}: {exc}"[:1000])
    if 200 <= status < 300:
        return Outcome(ok=True, response_status=status)
    if status == 410:
        return Outcome(
            ok=False,
            response_status=status,
            error="410 Gone: the endpoint was disabled",
            permanent=True,
            disable_endpoint=True,
        )
    return Outcome(ok=False, response_status=status, error=f"HTTP {status}: {excerpt}")


# --- The sender ---------------------------------------------------------------------------


class WebhookStream:
    """Outbound webhooks as an outbox stream: NOTIFY_WEBHOOK_CONCURRENCY POSTs in flight per
    worker process, refilled as they complete."""

    name = WEBHOOKS
    urgent = False

    def __init__(self, *, limit: int) -> None:
        self.limit = limit

    def claim(self, room: int) -> Claimed:
        rows = webhook_deliveries_claim(limit=room)
        return Claimed(items=rows, more=len(rows) >= room)

    def send(self, item: WebhookDelivery) -> Outcome:
        return _attempt(item)

    def record(self, done: list[tuple[Any, WebhookDelivery, Outcome]]) -> None:
        for _, row, outcome in done:
            _record(row, outcome)


def webhook_deliveries_claim(*, limit: int) -> list[WebhookDelivery]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"lease": settings.NOTIFY_WEBHOOK_LEASE_SECONDS, "limit": limit})
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(WebhookDelivery.objects.filter(id__in=ids).select_related("endpoint"))


def webhook_retry_delay(*, attempts: int) -> float:
    return backoff_delay(
        attempts=attempts,
        base=settings.NOTIFY_WEBHOOK_RETRY_BASE_SECONDS,
        cap=settings.NOTIFY_WEBHOOK_RETRY_MAX_SECONDS,
    )


def _record(row: WebhookDelivery, outcome: Outcome) -> None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=row.pk, attempts=row.attempts, status=WebhookDelivery.Status.PENDING
    )
    fields: dict[str, Any] = {"response_status": outcome.response_status}
    if outcome.ok:
        claimed.update(status=WebhookDelivery.Status.SENT, sent_at=now, last_error="", **fields)
        return
    gave_up = outcome.permanent or row.attempts >= settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS
    if gave_up:
        claimed.update(status=WebhookDelivery.Status.FAILED, last_error=outcome.error, **fields)
    else:
        delay = webhook_retry_delay(attempts=row.attempts)
        claimed.update(
            next_attempt_at=now + timedelta(seconds=delay), last_error=outcome.error, **fields
        )
    logger.warning(
        "webhooks: event %s to endpoint %s attempt %d %s: %s",
        row.event_id,
        row.endpoint_id,
        row.attempts,
        "gave up" if gave_up else "will retry",
        outcome.error,
    )
    if outcome.disable_endpoint:
        webhook_endpoint_disable(endpoint_id=row.endpoint_id, reason=outcome.error)


def webhook_endpoint_disable(*, endpoint_id: Any, reason: str) -> None:
    """Stop sending to an endpoint; its waiting events fail with the reason."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
        active=False, disabled_reason=reason[:255]
    )
    WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.FAILED, last_error=f"endpoint disabled: {reason}")


def webhook_deliveries_purge() -> int:
    """Delete sent and failed events past the retention period; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.NOTIFY_WEBHOOK_RETENTION_DAYS)
    deleted, _ = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=WebhookDelivery.Status.PENDING)
        .delete()
    )
    return deleted


# --- Waking the sender --------------------------------------------------------------------


def webhooks_ring(*, force: bool = False) -> bool:
    """Wake a dispatcher for the webhooks stream. Never raises: the events are in the
    outbox, and beat wakes the stream anyway."""
    return stream_ring(WEBHOOKS, force=force)
