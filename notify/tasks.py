"""Celery tasks: thin wrappers that take names and ids, never objects, and call services."""

from __future__ import annotations

from celery_app import app


@app.task(name="notify.drain", acks_late=True, ignore_result=True)
def drain(channel: str, lane: str) -> None:
    """Wake this process's outbox dispatcher for one channel's lane: it claims and sends
    (notify/services/outbox.py). Returns at once, so no pool process waits on a provider."""
    from notify.services.doorbell import stream_name
    from notify.services.outbox import outbox_wake

    outbox_wake(stream_name(channel, lane))


@app.task(name="notify.sweep", ignore_result=True)
def sweep() -> int:
    from notify.observability.receivers import sweep_counted
    from notify.services.sweeper import deliveries_sweep

    report = deliveries_sweep()
    sweep_counted(report)
    return report.expired


@app.task(name="notify.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    from notify.services.maintenance import idempotency_keys_purge

    return idempotency_keys_purge()


@app.task(name="notify.send_webhooks", acks_late=True, ignore_result=True)
def send_webhooks() -> None:
    """Wake this process's dispatcher for due outbound webhook events (run by beat)."""
    from notify.services.doorbell import WEBHOOKS
    from notify.services.outbox import outbox_wake

    outbox_wake(WEBHOOKS)


@app.task(name="notify.purge_webhook_deliveries", ignore_result=True)
def purge_webhook_deliveries() -> int:
    from notify.services.webhook_delivery import webhook_deliveries_purge

    return webhook_deliveries_purge()


@app.task(name="notify.restore_pauses", ignore_result=True)
def restore_pauses() -> int:
    """Put operators' pauses back in Redis if it lost them."""
    from notify.services.pauses import pauses_restore

    return pauses_restore()


@app.task(name="notify.expand_broadcast", acks_late=True, ignore_result=True)
def expand_broadcast(broadcast_id: str) -> bool:
    """Expand chunks of a broadcast (each committed on its own) for up to the drain budget,
    then queue the rest: resumable, and never holding a worker process for long."""
    import time

    from django.conf import settings

    from notify.services.audiences import broadcast_expand

    deadline = time.monotonic() + settings.NOTIFY_DRAIN_BUDGET_SECONDS
    more = broadcast_expand(broadcast_id=broadcast_id)
    while more and time.monotonic() < deadline:
        more = broadcast_expand(broadcast_id=broadcast_id)
    if more:
        expand_broadcast.apply_async(args=[broadcast_id], queue="maintenance")
    return more


@app.task(name="notify.purge_notifications", ignore_result=True)
def purge_notifications() -> int:
    """Delete finished notifications past NOTIFY_RETENTION_DAYS, for a bounded time."""
    from notify.services.retention import notifications_purge

    return notifications_purge()
