"""Celery tasks: thin wrappers that take names and ids, never objects, and call services.

Beat runs two jobs only (notify/settings/celery.py), so Flower shows the work, not the
housekeeping: `notify.tick` every few seconds and `notify.hourly`."""

from __future__ import annotations

from celery_app import app


@app.task(name="notify.drain", acks_late=True, ignore_result=True)
def drain(channel: str, lane: str) -> None:
    """Wake this process's outbox dispatcher for one channel's lane: it claims and sends
    (notify/services/outbox/engine.py). Returns at once, so no pool process waits on a
    provider."""
    from notify.services.outbox.doorbell import stream_name
    from notify.services.workers.outbox_process import outbox_wake

    outbox_wake(stream_name(channel, lane))


@app.task(name="notify.tick", ignore_result=True)
def tick() -> int:
    """The safety net, every NOTIFY_SWEEP_INTERVAL_SECONDS: ring for due deliveries and settle
    vanished workers' leases (sweeper), wake the webhooks stream for due retries, put
    operators' pauses back in Redis if it lost them, and analyze tables whose planner
    statistics fell behind."""
    from notify.observability.receivers import sweep_counted
    from notify.services.operations.pauses import pauses_restore
    from notify.services.operations.statistics import tables_analyze_stale
    from notify.services.outbox.doorbell import WEBHOOKS
    from notify.services.workers.outbox_process import outbox_wake
    from notify.services.workers.sweeper import deliveries_sweep

    report = deliveries_sweep()
    sweep_counted(report)
    outbox_wake(WEBHOOKS)
    pauses_restore()
    tables_analyze_stale()
    return report.expired


@app.task(name="notify.hourly", ignore_result=True)
def hourly() -> dict[str, int]:
    """Purges: expired idempotency keys, old webhook events, and finished notifications and
    closed digests past NOTIFY_RETENTION_DAYS (for a bounded time; the next run carries on)."""
    from notify.services.operations.maintenance import idempotency_keys_purge
    from notify.services.operations.retention import digests_purge, notifications_purge
    from notify.services.webhooks.delivery import webhook_deliveries_purge

    return {
        "idempotency_keys": idempotency_keys_purge(),
        "webhook_deliveries": webhook_deliveries_purge(),
        "notifications": notifications_purge(),
        "digests": digests_purge(),
    }


@app.task(name="notify.expand_broadcast", acks_late=True, ignore_result=True)
def expand_broadcast(broadcast_id: str) -> bool:
    """Expand chunks of a broadcast (each committed on its own) for up to the drain budget,
    then queue the rest: resumable, and never holding a worker process for long."""
    import time

    from django.conf import settings

    from notify.services.audiences.broadcasts import broadcast_expand

    deadline = time.monotonic() + settings.NOTIFY_DRAIN_BUDGET_SECONDS
    more = broadcast_expand(broadcast_id=broadcast_id)
    while more and time.monotonic() < deadline:
        more = broadcast_expand(broadcast_id=broadcast_id)
    if more:
        expand_broadcast.apply_async(args=[broadcast_id], queue="maintenance")
    return more
