"""Retention: notifications past NOTIFY_RETENTION_DAYS are deleted with their deliveries and
delivery attempts, so the tables (and every query that scans them) stop growing with the
service's age. Recipients, devices and suppressions are not touched.

A notification goes only when every one of its deliveries is terminal: a scheduled message
(pending with a send_at far ahead) or one in flight (sending) is kept whatever its age.
Closed digests (sent, cancelled, failed) go by the same age, counted from when they closed;
an open digest is kept whatever its age."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from notify.models.digests import Digest
from notify.models.notifications import Delivery, DeliveryStatus, Notification

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def notifications_purge(
    *, older_than: timedelta | None = None, batch: int = 2000, budget_seconds: float = 30
) -> int:
    """Delete notifications created more than `older_than` ago (default: the
    NOTIFY_RETENTION_DAYS setting; 0 days there disables retention) whose deliveries are all
    terminal, in batches of `batch` notifications, each in its own short transaction. Stops
    when nothing is left or `budget_seconds` is spent (at least one batch is always tried);
    the next run carries on. Returns the rows deleted: notifications, deliveries and
    attempts together."""
    if older_than is None:
        if settings.NOTIFY_RETENTION_DAYS <= 0:
            return 0
        older_than = timedelta(days=settings.NOTIFY_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    deadline = time.monotonic() + budget_seconds
    total = notifications = 0
    while True:
        found, deleted, per_model = _purge_batch(cutoff=cutoff, batch=batch)
        total += deleted
        notifications += per_model.get(Notification._meta.label, 0)
        if found < batch or time.monotonic() >= deadline:
            break
    if total:
        logger.info(
            "retention: deleted %d notifications (%d rows) created before %s",
            notifications,
            total,
            cutoff.isoformat(),
        )
    return total


def _purge_batch(*, cutoff: Any, batch: int) -> tuple[int, int, dict[str, int]]:
    """Returns (candidates found, rows deleted, rows deleted per model)."""
    active = Delivery.objects.filter(notification=OuterRef("pk"), status__in=ACTIVE_STATUSES)
    with transaction.atomic():
        # Locking the notifications makes a concurrent insert of a delivery for one of them (a
        # "fallback" notification's next channel) wait for this transaction; SKIP LOCKED lets
        # two purges, or a purge and a busy writer, pass each other.
        ids = list(
            Notification.objects.filter(created_at__lt=cutoff)
            .exclude(Exists(active))
            .order_by("created_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return 0, 0, {}
        # The check above ran on the statement's snapshot. Lock the deliveries and look again
        # at their latest versions: a replay that put one back in line just now must win, and
        # one that tries now waits, then finds nothing to replay.
        busy = {
            notification_id
            for notification_id, status in Delivery.objects.filter(notification_id__in=ids)
            .select_for_update()
            .values_list("notification_id", "status")
            if status in ACTIVE_STATUSES
        }
        keep = [i for i in ids if i not in busy]
        # only("id"): the collector would otherwise load (and decode) every content JSON.
        deleted, per_model = Notification.objects.filter(id__in=keep).only("id").delete()
    return len(ids), deleted, per_model


def digests_purge(
    *, older_than: timedelta | None = None, batch: int = 2000, budget_seconds: float = 30
) -> int:
    """Delete digests closed more than `older_than` ago (default: NOTIFY_RETENTION_DAYS, 0
    disables it), in batches like notifications_purge. Everything a closed digest carried
    was created before it closed, so by then its notifications have aged out too (those
    still kept lose only their link to it). Returns the digests deleted."""
    if older_than is None:
        if settings.NOTIFY_RETENTION_DAYS <= 0:
            return 0
        older_than = timedelta(days=settings.NOTIFY_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        with transaction.atomic():
            # closed_at is set on every close, and an open digest has none: never taken.
            ids = list(
                Digest.objects.filter(closed_at__lt=cutoff)
                .exclude(status=Digest.Status.OPEN)
                .order_by("closed_at")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[:batch]
            )
            if ids:
                total += Digest.objects.filter(id__in=ids).only("id").delete()[0]
        if len(ids) < batch or time.monotonic() >= deadline:
            break
    if total:
        logger.info("retention: deleted %d digests closed before %s", total, cutoff.isoformat())
    return total
