"""The safety net that makes Postgres, not Redis, the truth: run every few seconds by beat.

It rings the doorbell for every channel with due pending work (a task lost with Redis, a
publish that failed, a send_at that came due, a backoff too long for a Celery countdown) and
settles deliveries whose worker vanished mid-send. Due digests (or digests whose flush
lease ran out) get their stream rung too."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection

from channels import looked_up
from notify.models.notifications import Priority
from notify.services.accepting.digest_flush import digests_due
from notify.services.accepting.planning import deliveries_fall_back
from notify.services.audiences.broadcasts import broadcasts_resume
from notify.services.delivering.events import DeliveryChange, changes_emit
from notify.services.delivering.reconcile import deliveries_reconcile
from notify.services.digests.gathering import STREAM as DIGESTS
from notify.services.outbox.doorbell import STANDARD, URGENT, bell_ring, stream_ring

logger = logging.getLogger(__name__)

_DUE_SQL = """
SELECT channel, min(priority) FROM notify_delivery
WHERE status = 'pending' AND next_attempt_at <= now()
GROUP BY channel
"""

# A lease ran out: the worker died (or hung) between claim and outcome, so whether the
# provider got the message is unknown. Channels that can look a message up (SMS) are
# reconciled with the provider first (reconcile.py); the others are sent again (outcomes.py
# explains why), to the provider the lost attempt went to (the claim wrote it on the row).
_EXPIRED_SQL = """
UPDATE notify_delivery SET
    status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
    error_code = 'worker_lost',
    last_error = CASE WHEN attempts >= max_attempts
        THEN 'worker lost during send; attempts exhausted'
        ELSE 'worker lost during send; retrying' END,
    pinned_provider = provider,
    next_attempt_at = now(), lease_token = NULL, lease_until = NULL, updated_at = now()
WHERE id IN (
    SELECT id FROM notify_delivery
    WHERE status = 'sending' AND lease_until < now() AND NOT channel = ANY(%s)
    LIMIT 1000 FOR UPDATE SKIP LOCKED)
RETURNING id, notification_id, channel, status
"""


@dataclass(frozen=True)
class SweepReport:
    rung: list[str]
    expired: int
    reconciled: int


def deliveries_sweep() -> SweepReport:
    reconciled = deliveries_reconcile()  # first, so what it re-queues is rung below
    broadcasts_resume()
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRED_SQL, [list(looked_up())])
        expired = cursor.fetchall()
        cursor.execute(_DUE_SQL)
        due = cursor.fetchall()
    if expired:
        logger.warning(
            "sweeper: %d deliveries had expired leases: %s",
            len(expired),
            [(channel, status) for _, _, channel, status in expired],
        )
        _settled(expired)
    rung = []
    for channel, min_priority in due:
        lanes = [STANDARD] + ([URGENT] if min_priority <= Priority.HIGH else [])
        for lane in lanes:
            if bell_ring(channel=channel, lane=lane, force=True):
                rung.append(f"{channel}/{lane}")
    if digests_due():
        stream_ring(DIGESTS)
        rung.append(DIGESTS)
    return SweepReport(rung=rung, expired=len(expired), reconciled=reconciled)


def _settled(expired: list[tuple[Any, Any, str, str]]) -> None:
    """What a worker's outcome would have told: observers (webhooks, metrics) learn each
    change, and a delivery out of attempts moves a "fallback" notification on."""
    changes_emit(
        [
            DeliveryChange(
                delivery_id=str(pk),
                notification_id=str(notification_id),
                channel=channel,
                status=status,
                error_code="worker_lost",
                outcome="ambiguous",
                source="sweeper",
            )
            for pk, notification_id, channel, status in expired
        ]
    )
    failed = [pk for pk, _, _, status in expired if status == "failed"]
    if failed:
        deliveries_fall_back(failed_ids=failed)
