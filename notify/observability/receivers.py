"""Turning domain events into metrics and log lines. Connected in NotifyConfig.ready(); each
receiver runs after the change committed, in the process that made it, and must be fast:
no queries, no network."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone

from notify.observability import metrics
from notify.services.delivering.events import DeliveryChange
from notify.services.workers.sweeper import SweepReport
from notify.signals import deliveries_changed, notification_accepted
from notify.statuses import ERROR_OUTCOMES

# One line per status change, with the ids as fields (JSON logs): "what happened to X?".
# Level set by LOG_EVENTS_LEVEL (notify/settings/observability.py).
events_logger = logging.getLogger("notify.events")


def on_notification_accepted(sender: Any, *, notification: Any, replayed: bool, **_: Any) -> None:
    if replayed:
        return  # an Idempotency-Key replay accepted nothing new
    priority = metrics.PRIORITIES.get(int(notification.priority), "other")
    metrics.ACCEPTED.labels(priority=priority).inc()
    events_logger.info(
        "notification accepted",
        extra={"notification_id": str(notification.id), "priority": priority},
    )


def on_deliveries_changed(sender: Any, *, changes: list[DeliveryChange], **_: Any) -> None:
    now = timezone.now()
    providers = metrics.known_providers()
    for change in changes:
        _count(change, providers, now)
        events_logger.info(
            "delivery %s",
            change.status,
            extra={
                "delivery_id": change.delivery_id,
                "notification_id": change.notification_id,
                "channel": change.channel,
                "provider": change.provider,
                "status": change.status,
                "outcome": change.outcome,
                "error_code": change.error_code,
                "source": change.source,
                "duration_ms": change.duration_ms,
            },
        )


def error_class(change: DeliveryChange) -> str:
    if change.outcome in ERROR_OUTCOMES:
        return change.outcome
    if change.outcome == "skipped":
        return "suppressed"
    if change.status == "failed":
        return "reported"  # a provider's status callback said it failed
    return "none"


def _count(change: DeliveryChange, providers: list[str], now: datetime) -> None:
    channel = metrics.bounded(change.channel, metrics.known_channels())
    provider = metrics.bounded(change.provider, providers)
    outcome = metrics.bounded(change.outcome, metrics.OUTCOMES)
    metrics.DELIVERIES.labels(
        channel=channel,
        provider=provider,
        status=metrics.bounded(change.status, metrics.STATUSES),
        outcome=outcome,
        error_class=error_class(change),
    ).inc()
    if change.duration_ms is not None and change.outcome != "skipped":
        metrics.PROVIDER_CALL.labels(channel=channel, provider=provider, outcome=outcome).observe(
            change.duration_ms / 1000
        )
    if change.status == "sent" and change.accepted_at is not None:
        waited = (now - change.accepted_at).total_seconds()
        metrics.ACCEPT_TO_SENT.labels(channel=channel).observe(max(0.0, waited))


def sweep_counted(report: SweepReport) -> None:
    """Called by the sweep task with what the sweeper did. Zeros are counted too, so every
    action's series exists from the first sweep on."""
    for action, count in (
        ("rung", len(report.rung)),
        ("expired", report.expired),
        ("reconciled", report.reconciled),
    ):
        metrics.SWEEPER_ACTIONS.labels(action=action).inc(count)


def connect() -> None:
    notification_accepted.connect(on_notification_accepted, dispatch_uid="observability")
    deliveries_changed.connect(on_deliveries_changed, dispatch_uid="observability")
