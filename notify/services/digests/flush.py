"""Flushing digests: an outbox stream (notify/services/delivering/outbox.py) that claims due digests
from Postgres under a lease and a fencing token and sends each as one notification.

The flush of a digest is one transaction: lock the digest under the claim's token, read the
messages still held in it, render the template once over them, accept the digest
notification through the normal path (preferences, quiet hours, caps, fallback, channels
planned now), mark the held deliveries `skipped`/`digested` and the digest `sent`. A worker
killed mid-flush leaves nothing behind; its lease runs out and another worker flushes the
digest in full. The notification also carries the idempotency key `digest:<id>`, so even a
fencing mistake could not create it twice."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from notify.models.apikeys import ApiKey
from notify.models.digests import Digest
from notify.models.notifications import Delivery, DeliveryStatus, Notification
from notify.services.accepting.notifications import NothingToSend, notification_create
from notify.services.accepting.submission import (
    InvalidRequest,
    notification_draft,
    recipient_contact,
)
from notify.services.delivering.outbox import Claimed
from notify.services.digests.gathering import DIGESTED, HELD, STREAM

logger = logging.getLogger(__name__)

_CLAIM_SQL = """
UPDATE notify_digest SET lease_token = %(token)s,
       lease_until = now() + make_interval(secs => %(lease)s)
WHERE id IN (
    SELECT id FROM notify_digest
    WHERE status = 'open' AND flush_at <= now() AND (lease_until IS NULL OR lease_until < now())
    ORDER BY flush_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING id
"""
# When the next claim could find something: a due time, or a lease running out.
_NEXT_SQL = """
SELECT min(GREATEST(flush_at, COALESCE(lease_until, flush_at))) FROM notify_digest
WHERE status = 'open'
"""
_DUE_SQL = """
SELECT EXISTS (SELECT 1 FROM notify_digest WHERE status = 'open' AND flush_at <= now()
               AND (lease_until IS NULL OR lease_until < now()))
"""


@dataclass(frozen=True)
class Flushed:
    """What became of one claimed digest: its new status ("" when this claim no longer held
    it, or the flush failed and is left to the lease)."""

    status: str
    notification_id: Any = None
    error: str = ""


class DigestStream:
    """Due digests as an outbox stream. Sending is the flush itself (it commits the digest
    notification and the digest's closing together), so recording has nothing to write."""

    name = STREAM
    urgent = False

    def __init__(self, *, limit: int) -> None:
        self.limit = limit

    def claim(self, room: int) -> Claimed:
        token, ids = digests_claim(limit=room)
        if ids:
            return Claimed(items=[(digest_id, token) for digest_id in ids], token=token)
        # Nothing due: come back when the earliest open digest is (the dispatcher caps it).
        with connection.cursor() as cursor:
            cursor.execute(_NEXT_SQL)
            (next_at,) = cursor.fetchone()
        if next_at is None:
            return Claimed()
        return Claimed(wait=max((next_at - timezone.now()).total_seconds(), 0.05))

    def send(self, item: tuple[Any, uuid.UUID]) -> Flushed:
        digest_id, token = item
        return digest_flush_guarded(digest_id=digest_id, token=token)

    def record(self, done: list[tuple[Any, tuple[Any, uuid.UUID], Flushed]]) -> None:
        for _, (digest_id, _), flushed in done:
            if flushed.error:
                logger.warning("digests: %s not flushed: %s", digest_id, flushed.error)


def digests_claim(*, limit: int) -> tuple[uuid.UUID, list[Any]]:
    """Take leased, fenced ownership of up to `limit` due digests."""
    token = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {"token": token, "lease": settings.NOTIFY_DIGEST_LEASE_SECONDS, "limit": limit},
        )
        return token, [row[0] for row in cursor.fetchall()]


def digests_due() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL)
        return bool(cursor.fetchone()[0])


def digest_flush_guarded(*, digest_id: Any, token: uuid.UUID) -> Flushed:
    """digest_flush on a send thread: never raises. An error leaves the digest open under
    its lease, to be flushed again when the lease runs out."""
    close_old_connections()  # a send thread keeps its connection: drop a broken one
    try:
        return digest_flush(digest_id=digest_id, token=token)
    except Exception as exc:
        logger.exception("digests: flushing %s failed; retried after its lease", digest_id)
        return Flushed("", error=f"{type(exc).__name__}: {exc}")


def digest_flush(*, digest_id: Any, token: uuid.UUID) -> Flushed:
    with transaction.atomic():
        digest = (
            Digest.objects.select_for_update(of=("self",))
            .select_related("recipient", "api_key")
            .filter(pk=digest_id, lease_token=token, status=Digest.Status.OPEN)
            .first()
        )
        if digest is None:
            return Flushed("")  # another claim took it over, or an operator closed it
        items = _items(digest)
        if not items:
            return _close(digest, Digest.Status.CANCELLED, "nothing left to send")
        try:
            notification = _send(digest, items)
        except InvalidRequest as exc:
            reason = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
            return _close(digest, Digest.Status.FAILED, f"not rendered: {reason}")
        except NothingToSend:
            return _close(digest, Digest.Status.FAILED, "no channel can reach the recipient")
        ids = [str(pk) for pk, _, _ in items]
        now = timezone.now()
        _held().filter(notification_id__in=[pk for pk, _, _ in items]).update(
            status=DeliveryStatus.SKIPPED,
            error_code=DIGESTED,
            last_error=f"sent in digest {digest.pk} as notification {notification.pk}",
            next_attempt_at=now,
            updated_at=now,
        )
        Digest.objects.filter(pk=digest.pk).update(
            status=Digest.Status.SENT,
            notification=notification,
            item_ids=ids,
            count=len(ids),
            closed_at=now,
            lease_token=None,
            lease_until=None,
        )
    return Flushed(Digest.Status.SENT, notification.pk)


def _held() -> Any:
    return Delivery.objects.filter(status=DeliveryStatus.PENDING, error_code=HELD)


def _items(digest: Digest) -> list[tuple[Any, Any, Any]]:
    """The joined messages still held (not cancelled), oldest first. Looked up by the
    digest's own notifications first: a join across all pending deliveries would cost in
    proportion to every digest still open, not to this one."""
    joined = list(
        Notification.objects.filter(digest=digest)
        .order_by("created_at", "id")
        .values_list("id", "created_at", "digest_data")
    )
    held = set(
        _held()
        .filter(notification_id__in=[pk for pk, _, _ in joined])
        .values_list("notification_id", flat=True)
    )
    return [item for item in joined if item[0] in held]


def _send(digest: Digest, items: list[tuple[Any, Any, Any]]) -> Notification:
    person = digest.recipient
    context = {
        "count": len(items),
        "items": [
            {"notification_id": str(pk), "created_at": at.isoformat(), "data": data or {}}
            for pk, at, data in items
        ],
    }
    # The usual context is the newest message's data; `digest` holds all of them.
    data = {
        "template": digest.template_key,
        "data": {**(items[-1][2] or {}), "digest": context},
        "channels": digest.channels or None,
        "category": digest.category,
    }
    known = {**recipient_contact(person), "id": person.external_id}
    draft = notification_draft(tenant=digest.tenant, data=data, known=known, critical=False)
    accepted = notification_create(
        api_key=digest.api_key or ApiKey(tenant=digest.tenant),
        recipient={"id": person.external_id},
        content=draft.content,
        channels=digest.channels or None,
        priority=digest.priority,
        category=digest.category,
        strategy=digest.strategy,
        template_key=draft.template_key,
        template_version=draft.template_version,
        idempotency_key=f"digest:{digest.pk}",
        stored=person,
    )
    return accepted.notification


def _close(digest: Digest, status: str, reason: str) -> Flushed:
    """Close without a notification; what was held in it is skipped with the reason."""
    now = timezone.now()
    joined = Notification.objects.filter(digest=digest).values_list("id", flat=True)
    _held().filter(notification_id__in=list(joined)).update(
        status=DeliveryStatus.SKIPPED,
        error_code="digest_failed",
        last_error=f"digest {digest.pk}: {reason}",
        next_attempt_at=now,
        updated_at=now,
    )
    Digest.objects.filter(pk=digest.pk).update(
        status=status, last_error=reason, closed_at=now, lease_token=None, lease_until=None
    )
    logger.info("digests: %s closed %s: %s", digest.pk, status, reason)
    return Flushed(status, error="" if status == Digest.Status.CANCELLED else reason)
