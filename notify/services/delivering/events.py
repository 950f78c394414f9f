"""Emitting domain events (notify.signals) after commit, without letting an observer break
the delivery path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from notify.signals import deliveries_changed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryChange:
    delivery_id: str
    notification_id: str
    channel: str
    status: str
    provider: str = ""
    error_code: str = ""
    outcome: str = ""  # the attempt's outcome class: sent, transient, permanent, config, …
    duration_ms: int | None = None  # the provider call's duration
    accepted_at: datetime | None = None  # when the notification was accepted
    source: str = "worker"  # worker | webhook | sweeper | operator | api


def changes_emit(changes: list[DeliveryChange]) -> None:
    if not changes:
        return

    def send() -> None:
        for receiver, result in deliveries_changed.send_robust(
            sender=DeliveryChange, changes=changes
        ):
            if isinstance(result, Exception):
                logger.error("deliveries_changed receiver %r failed: %s", receiver, result)

    transaction.on_commit(send)
