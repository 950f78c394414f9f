"""Flushing digests: an outbox stream (notify/services/outbox/engine.py) that claims due digests
from Postgres under a lease and a fencing token, a chunk at a time, and sends each as one
notification.

A chunk is flushed set-wise in one transaction: lock the chunk's digests still held under the
claim's token, read all their held messages in one query, render and plan every digest's
notification in memory (building.py), then write the notifications, their deliveries, the
held deliveries' `skipped`/`digested` and the digests' `sent` in a handful of statements. A
worker killed mid-flush leaves nothing behind; the lease runs out and another worker flushes
the chunk in full. Each notification also carries the idempotency key `digest:<id>`, so even
a fencing mistake could not create it twice. Should a chunk fail as a whole (one digest
tripping something unforeseen), its digests are flushed one by one so the rest still go."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone

from notify.models.digests import Digest
from notify.models.notifications import Delivery, DeliveryStatus, Notification
from notify.services.accepting.digest_building import digests_build
from notify.services.accepting.digest_items import digests_items, digests_settle_held
from notify.services.accepting.notifications import announce
from notify.services.digests.gathering import HELD, STREAM
from notify.services.outbox.doorbell import bells_ring_for
from notify.services.outbox.engine import Claimed
from notify.services.rows import rows_insert

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
# When the next claim could find something: the earliest unleased due time, or a lease
# running out. Both halves read only partial indexes (digest_open_due, digest_open_leased):
# an idle system with 100,000 open digests pays two index probes, not a scan of them all.
_NEXT_SQL = """
SELECT min(at) FROM (
    (SELECT flush_at AS at FROM notify_digest WHERE status = 'open' AND lease_until IS NULL
     ORDER BY flush_at LIMIT 1)
    UNION ALL
    (SELECT min(GREATEST(flush_at, lease_until)) FROM notify_digest
     WHERE status = 'open' AND lease_until IS NOT NULL)
) AS next
"""
_DUE_SQL = """
SELECT EXISTS (SELECT 1 FROM notify_digest WHERE status = 'open' AND flush_at <= now()
               AND (lease_until IS NULL OR lease_until < now()))
"""
_SENT_SQL = """
UPDATE notify_digest AS g SET status = 'sent', notification_id = v.notification_id,
    item_ids = v.item_ids, count = v.count, closed_at = clock_timestamp(), lease_token = NULL,
    lease_until = NULL
FROM (SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::jsonb[], %s::int[]))
    AS v(id, notification_id, item_ids, count)
WHERE g.id = v.id
"""


@dataclass(frozen=True)
class Flushed:
    """What became of one claimed digest: its new status ("" when this claim no longer held
    it, or the flush failed and is left to the lease)."""

    status: str
    notification_id: Any = None
    error: str = ""


Chunk = tuple[list[Any], uuid.UUID]


class DigestStream:
    """Due digests as an outbox stream whose items are chunks of up to
    NOTIFY_DIGEST_CHUNK digests: sending is the set-wise flush of a chunk (it commits the
    notifications and the digests' closing together), so recording has nothing to write."""

    name = STREAM
    urgent = False

    def __init__(self, *, limit: int, chunk: int | None = None) -> None:
        self.limit = limit
        self.chunk = chunk or settings.NOTIFY_DIGEST_CHUNK

    def claim(self, room: int) -> Claimed:
        token, ids = digests_claim(limit=room * self.chunk)
        if ids:
            chunks = [ids[i : i + self.chunk] for i in range(0, len(ids), self.chunk)]
            return Claimed(
                items=[(chunk, token) for chunk in chunks],
                token=token,
                more=len(ids) >= room * self.chunk,
            )
        # Nothing due: come back when the earliest open digest is (the dispatcher caps it).
        with connection.cursor() as cursor:
            cursor.execute(_NEXT_SQL)
            (next_at,) = cursor.fetchone()
        if next_at is None:
            return Claimed()
        return Claimed(wait=max((next_at - timezone.now()).total_seconds(), 0.05))

    def send(self, item: Chunk) -> dict[Any, Flushed]:
        ids, token = item
        return digests_flush_guarded(digest_ids=ids, token=token)

    def record(self, done: list[tuple[Any, Chunk, dict[Any, Flushed]]]) -> None:
        for _, _, flushed in done:
            for digest_id, result in flushed.items():
                if result.error:
                    logger.warning("digests: %s not flushed: %s", digest_id, result.error)


def digests_claim(*, limit: int) -> tuple[uuid.UUID, list[Any]]:
    """Take leased, fenced ownership of up to `limit` due digests, the longest due first."""
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


def digests_flush_guarded(*, digest_ids: Sequence[Any], token: uuid.UUID) -> dict[Any, Flushed]:
    """digests_flush on a send thread: never raises. A chunk that fails as a whole is
    flushed one digest at a time, so one digest's error holds back only that digest; it
    stays open under its lease, to be flushed again when the lease runs out."""
    close_old_connections()  # a send thread keeps its connection: drop a broken one
    try:
        return digests_flush(digest_ids=digest_ids, token=token)
    except Exception as exc:
        # Postgres away: one by one would fail as many times; the lease brings the chunk back.
        if len(digest_ids) == 1 or isinstance(exc, OperationalError | InterfaceError):
            logger.exception(
                "digests: a chunk of %d failed; retried after its lease", len(digest_ids)
            )
            return {i: Flushed("", error=f"{type(exc).__name__}: {exc}") for i in digest_ids}
        logger.exception("digests: a chunk of %d failed; flushing one by one", len(digest_ids))
    out: dict[Any, Flushed] = {}
    for digest_id in digest_ids:
        close_old_connections()
        try:
            out.update(digests_flush(digest_ids=[digest_id], token=token))
        except Exception as exc:
            logger.exception("digests: flushing %s failed; retried after its lease", digest_id)
            out[digest_id] = Flushed("", error=f"{type(exc).__name__}: {exc}")
    return out


def digest_flush(*, digest_id: Any, token: uuid.UUID) -> Flushed:
    """Flush one digest (an operator's action, a test): digests_flush of a chunk of one."""
    return digests_flush(digest_ids=[digest_id], token=token)[digest_id]


def digests_flush(*, digest_ids: Sequence[Any], token: uuid.UUID) -> dict[Any, Flushed]:
    """Flush the digests of one claim in one transaction. Digests this claim no longer holds
    (taken over after its lease ran out, closed by an operator) are left alone: ""."""
    out = {digest_id: Flushed("") for digest_id in digest_ids}
    with transaction.atomic():
        digests = list(
            Digest.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk__in=list(digest_ids), lease_token=token, status=Digest.Status.OPEN)
            .order_by("pk")  # one lock order for every flusher
        )
        if not digests:
            return out
        items = digests_items([d.pk for d in digests])
        for digest in digests:
            if not items.get(digest.pk):
                out[digest.pk] = _close(digest, Digest.Status.CANCELLED, "nothing left to send")
        full = [d for d in digests if items.get(d.pk)]
        built = digests_build(digests=full, items=items, now=timezone.now())
        for digest in full:
            if digest.pk in built.failed:
                out[digest.pk] = _close(digest, Digest.Status.FAILED, built.failed[digest.pk])
        sent = built.notifications
        if not sent:
            return out
        notifications = list(sent.values())
        rows_insert(Notification, notifications)
        rows_insert(Delivery, built.deliveries)
        ids = list(sent)
        carried = {pk: [i for i, _, _ in items[pk]] for pk in ids}
        with connection.cursor() as cursor:
            cursor.execute(
                _SENT_SQL,
                [
                    ids,
                    [sent[pk].pk for pk in ids],
                    [json.dumps(carried[pk]) for pk in ids],
                    [len(carried[pk]) for pk in ids],
                ],
            )
        digests_settle_held({pk: n.pk for pk, n in sent.items()}, items)
        now = timezone.now()
        due = {
            (d.channel, d.priority)
            for d in built.deliveries
            if d.status == DeliveryStatus.PENDING and d.next_attempt_at <= now
        }
        transaction.on_commit(lambda: bells_ring_for(due))
        transaction.on_commit(lambda: _announce_all(notifications))
    for pk, notification in sent.items():
        out[pk] = Flushed(Digest.Status.SENT, notification.pk)
    return out


def _announce_all(notifications: list[Notification]) -> None:
    for notification in notifications:
        announce(notification)


def _held() -> Any:
    return Delivery.objects.filter(status=DeliveryStatus.PENDING, error_code=HELD)


def _close(digest: Digest, status: str, reason: str) -> Flushed:
    """Close without a notification; what was held in it is skipped with the reason. Rare
    (an operator's cancel emptied it, a template broke): one digest at a time."""
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
