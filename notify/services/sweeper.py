"""The safety net that makes Postgres, not Redis, the truth: run every few seconds by beat.

It rings the doorbell for every channel with due pending work (a task lost with Redis, a
publish that failed, a send_at that came due, a backoff too long for a Celery countdown) and
settles deliveries whose worker vanished mid-send."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection

from notify.models.notifications import Priority
from notify.services.doorbell import STANDARD, URGENT, bell_ring

logger = logging.getLogger(__name__)

_DUE_SQL = """
SELECT channel, min(priority) FROM notify_delivery
WHERE status = 'pending' AND next_attempt_at <= now()
GROUP BY channel
"""

# A lease ran out: the worker died (or hung) between claim and outcome. Whether the provider
# got the message is unknown, so apply the same policy as an ambiguous send (outcomes.py):
# SMS is not resent; other channels are, unless their attempts are spent.
_EXPIRED_SQL = """
UPDATE notify_delivery SET
    status = CASE
        WHEN channel = 'sms' THEN 'failed'
        WHEN attempts >= max_attempts THEN 'failed'
        ELSE 'pending' END,
    error_code = CASE WHEN channel = 'sms' THEN 'ambiguous' ELSE 'worker_lost' END,
    last_error = CASE
        WHEN channel = 'sms' THEN 'worker lost during the provider call; the provider may '
             || 'have accepted it, so it was not resent'
        WHEN attempts >= max_attempts THEN 'worker lost during send; attempts exhausted'
        ELSE 'worker lost during send; retrying' END,
    next_attempt_at = now(), lease_token = NULL, lease_until = NULL, updated_at = now()
WHERE id IN (
    SELECT id FROM notify_delivery WHERE status = 'sending' AND lease_until < now()
    LIMIT 1000 FOR UPDATE SKIP LOCKED)
RETURNING channel, status
"""


@dataclass(frozen=True)
class SweepReport:
    rung: list[str]
    expired: int


def deliveries_sweep() -> SweepReport:
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRED_SQL)
        expired = cursor.fetchall()
        cursor.execute(_DUE_SQL)
        due = cursor.fetchall()
    if expired:
        logger.warning("sweeper: %d deliveries had expired leases: %s", len(expired), expired)
    rung = []
    for channel, min_priority in due:
        lanes = [STANDARD] + ([URGENT] if min_priority <= Priority.HIGH else [])
        for lane in lanes:
            if bell_ring(channel=channel, lane=lane, force=True):
                rung.append(f"{channel}/{lane}")
    return SweepReport(rung=rung, expired=len(expired))
