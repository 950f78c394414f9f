"""Accepting a notification: the API's one write. The notification, its recipient and its
deliveries are committed in one transaction; workers are woken after the commit."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from notify.models.apikeys import ApiKey
from notify.models.notifications import Delivery, DeliveryStatus, Notification, Priority
from notify.services.accepting.facts import LOOK_UP
from notify.services.accepting.planning import deliveries_plan
from notify.services.delivering.doorbell import bells_ring_for
from notify.services.digests.gathering import DigestRequest, digests_join
from notify.services.recipients.recipients import recipient_upsert
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


def notification_create(
    *,
    api_key: ApiKey,
    recipient: dict[str, Any],
    content: dict[str, dict[str, Any]],
    channels: list[str] | None,
    priority: int = Priority.NORMAL,
    category: str = "",
    send_at: datetime | None = None,
    strategy: str = "all",
    template_key: str = "",
    template_version: int | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    stored: Any = LOOK_UP,
    category_row: Any = LOOK_UP,
    digest: DigestRequest | None = None,
) -> Accepted:
    """`content` is already rendered, per channel. With an Idempotency-Key, a request seen
    before is answered with the notification it created (IdempotencyMismatch if its body
    differed; IdempotencyInFlight while the first request with that key is still running).
    `stored` and `category_row` are the recipient and category rows if the caller has read
    them already. `digest`: the message may join a digest instead of going out alone."""
    tenant = api_key.tenant
    with transaction.atomic():
        if idempotency_key:
            scope = idempotency_scope(api_key)
            _lock_key(scope, idempotency_key)
            existing = _replay(scope, idempotency_key, fingerprint)
            if existing is not None:
                return Accepted(existing, list(existing.deliveries.all()), replayed=True)
        person = recipient_upsert(
            tenant=tenant,
            external_id=recipient["id"],
            stored=stored,
            **{k: v for k, v in recipient.items() if k != "id"},
        )
        # Saved after planning: a message that joins a digest is written in the digest's
        # own statement (digests_join), so joining costs no more queries than a plain accept.
        notification = Notification(
            tenant=tenant,
            api_key=api_key if api_key.pk else None,
            recipient=person,
            category=category,
            priority=priority,
            template_key=template_key,
            template_version=template_version,
            content=content,
            send_at=send_at,
            strategy=strategy,
            channel_order=list(channels or []),
            idempotency_key=idempotency_key or None,
            request_fingerprint=fingerprint,
        )
        planned = deliveries_plan(notification, person, content, channels, category=category_row)
        if not planned:
            raise NothingToSend()
        joined = digests_join(
            tenant=tenant,
            api_key=api_key,
            request=digest,
            joins=[(notification, person, planned)],
            category=category_row,
            insert=True,
        )
        if not joined:
            notification.save(force_insert=True)
        deliveries = Delivery.objects.bulk_create(planned)
        due = {
            (d.channel, d.priority)
            for d in deliveries
            if d.status == DeliveryStatus.PENDING and d.next_attempt_at <= timezone.now()
        }
        transaction.on_commit(lambda: bells_ring_for(due))
        transaction.on_commit(lambda: announce(notification))
    return Accepted(notification, deliveries, replayed=False)


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


def _lock_key(tenant: str, key: str) -> None:
    """Hold a transaction-scoped lock on the key: a concurrent request with the same key
    fails fast (409) instead of waiting, and after our commit it finds and replays ours."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(hashtext(%s), hashtext(%s))", [tenant, key]
        )
        (locked,) = cursor.fetchone()
    if not locked:
        raise IdempotencyInFlight(key)


def _replay(tenant: str, key: str, fingerprint: str) -> Notification | None:
    existing = (
        Notification.objects.filter(tenant=tenant, idempotency_key=key)
        # What the replayed 202 shows: the recipient's id, deliveries in the order of a GET.
        .select_related("recipient")
        .prefetch_related(Prefetch("deliveries", Delivery.objects.order_by("created_at")))
        .first()
    )
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise IdempotencyMismatch(key)
    return existing


def notification_cancel(*, notification: Notification) -> int:
    """Cancel every delivery not yet claimed by a worker; returns how many. A delivery already
    being sent cannot be called back."""
    return Delivery.objects.filter(notification=notification, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED,
        last_error="cancelled by the caller",
        updated_at=timezone.now(),
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
