"""Operator actions (admin, and later the API): retry what failed, cancel what waits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notify.models.notifications import Delivery, DeliveryStatus
from notify.services.doorbell import bells_ring_for


def deliveries_retry(*, delivery_ids: Iterable[Any]) -> int:
    """Put failed deliveries back in line for a fresh set of attempts; returns how many.
    Only `failed` rows move, so retrying twice (or racing a worker) changes nothing more."""
    with transaction.atomic():
        rows = list(
            Delivery.objects.filter(id__in=list(delivery_ids), status=DeliveryStatus.FAILED)
            .select_for_update(skip_locked=True)
            .values_list("id", "channel", "priority")
        )
        Delivery.objects.filter(id__in=[r[0] for r in rows]).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
            max_attempts=F("attempts") + F("max_attempts"),
            error_code="",
            last_error="retry requested by an operator",
            updated_at=timezone.now(),
        )
        pairs = {(channel, priority) for _, channel, priority in rows}
        transaction.on_commit(lambda: bells_ring_for(pairs))
    return len(rows)


def deliveries_cancel(*, delivery_ids: Iterable[Any]) -> int:
    """Cancel deliveries not yet claimed by a worker; returns how many."""
    return Delivery.objects.filter(id__in=list(delivery_ids), status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED,
        last_error="cancelled by an operator",
        updated_at=timezone.now(),
    )
