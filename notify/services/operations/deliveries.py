"""Operator actions (admin, and later the API): retry what failed, cancel what waits."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from channels import providers_for
from notify.models.notifications import Delivery, DeliveryStatus
from notify.services.delivering.events import DeliveryChange
from notify.services.outbox.doorbell import bells_ring_for
from notify.signals import deliveries_changed

logger = logging.getLogger(__name__)


def deliveries_retry(*, delivery_ids: Iterable[Any]) -> int:
    """Put failed deliveries back in line for a fresh set of attempts; returns how many.
    Only `failed` rows move, so retrying twice (or racing a worker) changes nothing more.
    Callers record who asked through notify.services.operations.replay.deliveries_replay."""
    with transaction.atomic():
        rows = list(
            Delivery.objects.filter(id__in=list(delivery_ids), status=DeliveryStatus.FAILED)
            .select_for_update(skip_locked=True)
            .values_list("id", "channel", "priority", "notification_id", "provider")
        )
        _pins_lift(rows)
        Delivery.objects.filter(id__in=[r[0] for r in rows]).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
            max_attempts=F("attempts") + F("max_attempts"),
            error_code="",
            last_error="retry requested by an operator",
            updated_at=timezone.now(),
        )
        pairs = {(channel, priority) for _, channel, priority, _, _ in rows}
        changes = [
            DeliveryChange(
                delivery_id=str(delivery_id),
                notification_id=str(notification_id),
                channel=channel,
                status=DeliveryStatus.PENDING,
                provider=provider,
                source="operator",
            )
            for delivery_id, channel, _, notification_id, provider in rows
        ]

        def after_commit() -> None:
            bells_ring_for(pairs)
            _changes_send(changes)

        transaction.on_commit(after_commit)
    return len(rows)


def _pins_lift(rows: list[tuple[Any, str, int, Any, str]]) -> None:
    """A failed delivery may be pinned to the provider that might already have it (an
    ambiguous last attempt, a worker lost mid-send). A pin to a provider the configuration
    no longer has (removed from EMAIL_PROVIDERS, or a backend this release lacks) cannot be
    honoured: lifted, so the replay goes through a configured provider at once instead of
    spending an attempt on an internal error first."""
    by_channel: dict[str, list[Any]] = {}
    for delivery_id, channel, *_ in rows:
        by_channel.setdefault(channel, []).append(delivery_id)
    for channel, ids in by_channel.items():
        Delivery.objects.filter(id__in=ids).exclude(pinned_provider="").exclude(
            pinned_provider__in=providers_for(channel)
        ).update(pinned_provider="")


def deliveries_cancel(*, delivery_ids: Iterable[Any]) -> int:
    """Cancel deliveries not yet claimed by a worker; returns how many."""
    return Delivery.objects.filter(id__in=list(delivery_ids), status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED,
        last_error="cancelled by an operator",
        updated_at=timezone.now(),
    )


def _changes_send(changes: list[DeliveryChange]) -> None:
    # Already after the commit (events.changes_emit would defer once more): tell observers
    # now, without letting one of them break the operator's action.
    if not changes:
        return
    for receiver, result in deliveries_changed.send_robust(sender=DeliveryChange, changes=changes):
        if isinstance(result, Exception):
            logger.error("deliveries_changed receiver %r failed: %s", receiver, result)
