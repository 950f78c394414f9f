"""What accepting a notification answers with and refuses with, the idempotency scope, and the
caller's operations on a notification once accepted. The write itself is batch.py's: a single
create is a batch of one."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from notify.models.apikeys import ApiKey
from notify.models.notifications import Delivery, DeliveryStatus, Notification
from notify.signals import notification_accepted

logger = logging.getLogger(__name__)


class NothingToSend(Exception):
    """No requested channel has both content and a way to reach the recipient."""


class IdempotencyInFlight(Exception):
    """A request with this Idempotency-Key is being processed right now."""


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was used before with a different request body."""


@dataclass(frozen=True)
class Accepted:
    notification: Notification
    deliveries: list[Delivery]
    replayed: bool


def request_fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_scope(api_key: ApiKey) -> str:
    """Idempotency-Keys are scoped to the tenant, not to the API key. Every key of a tenant
    already reads all of its notifications, so a replay through a second key reveals
    nothing new; and a retry that goes out through another key of the same tenant (a key
    rotated mid-retry, a second instance of the caller with its own key) must find the
    first request, not send the message twice. Keys of different tenants never meet. The
    unique constraint on Notification (tenant, idempotency_key) holds the same scope."""
    return api_key.tenant


def announce(notification: Notification) -> None:
    """Tell observers (metrics, event log) a notification was accepted."""
    for receiver, result in notification_accepted.send_robust(
        sender=Notification, notification=notification, replayed=False
    ):
        if isinstance(result, Exception):
            logger.error("notification_accepted receiver %r failed: %s", receiver, result)


def notification_cancel(*, notification: Notification) -> int:
    """Cancel every delivery not yet claimed by a worker; returns how many. A delivery already
    being sent cannot be called back, but the cancel is recorded on the notification: a
    "fallback" notification tries no further channel when that delivery fails, at send time
    or in a later provider report. Recorded first, on the notification's row, whose lock
    fallback planning takes: a next channel planned before is cancelled with the rest."""
    with transaction.atomic():
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, cancelled_at__isnull=True).update(
            cancelled_at=now
        )
        return Delivery.objects.filter(
            notification=notification, status=DeliveryStatus.PENDING
        ).update(
            status=DeliveryStatus.CANCELLED,
            last_error="cancelled by the caller",
            updated_at=now,
        )


def notification_status(deliveries: list[Delivery]) -> str:
    """A notification's status, derived from its deliveries: in flight while any is; else
    delivered/sent if any got through; else failed, cancelled or skipped."""
    statuses = {d.status for d in deliveries}
    for status in ("sending", "pending"):
        if status in statuses:
            return status
    if "sent" in statuses:
        return "sent"
    if "delivered" in statuses:
        return "delivered"
    for status in ("failed", "cancelled", "skipped"):
        if status in statuses:
            return status
    return "skipped"
