"""Writing back what happened to a batch of sends, and the retry policy."""

from __future__ import annotations

import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from channels import DeliveryError, looked_up
from notify.models.notifications import Delivery
from notify.models.recipients import Device
from notify.services.accepting.planning import deliveries_fall_back
from notify.services.delivering.events import DeliveryChange, changes_emit
from notify.services.delivering.protection import breaker_record, provider_pause
from notify.services.outbox.doorbell import bell_ring, lane_for
from notify.services.outbox.engine import backoff_delay
from notify.services.recipients.suppressions import suppression_add
from notify.statuses import SKIPPED_OUTCOME, AttemptOutcome

logger = logging.getLogger(__name__)

_SENT = AttemptOutcome.SENT.value

# What to do with a send the provider may already have accepted (read timeout, reply lost)
# is the channel's to say (channels/base.py, Channel.find):
# - channels that can look a message up at the provider (SMS: a duplicate text costs money
#   and trust, and Twilio can be asked): the delivery stays `sending` for a settle window (a
#   status callback may settle it first), then the sweeper looks the message up
#   (reconcile.py) and marks it sent, or sends it again if the provider never got it;
# - the others are sent again. Push: the copy replaces the first on the device (collapse
#   key = notification id). Email: through the same provider; a rare duplicate beats a lost
#   password reset.

# Outcomes are written only while our claim's token is still in force. If a provider report
# (webhook) already moved the delivery on while we waited for the send's reply, it stays.
# The attempt rows (one per provider call: not for a skipped send) go in the same statement,
# only for the rows the UPDATE wrote: one round trip per claim's outcomes.
_RECORD_SQL = """
WITH v (id, token, status, provider, provider_message_id, error_code, last_error, next_at,
        pinned_provider, refund, attempted, number, outcome, error_message, started_at,
        duration_ms) AS (VALUES %s),
written AS (
    UPDATE notify_delivery AS d SET
        status = CASE WHEN d.status = 'sending' THEN v.status ELSE d.status END,
        provider = v.provider, provider_message_id = v.provider_message_id,
        pinned_provider = v.pinned_provider, attempts = d.attempts - v.refund,
        error_code = v.error_code, last_error = v.last_error,
        next_attempt_at = CASE WHEN v.status = 'pending' THEN v.next_at
                               ELSE d.next_attempt_at END,
        sent_at = CASE WHEN v.status = 'sent' THEN now() ELSE d.sent_at END,
        lease_token = NULL, lease_until = CASE WHEN v.status = 'sending' THEN v.next_at END,
        updated_at = now()
    FROM v
    WHERE d.id = v.id AND d.lease_token = v.token
    RETURNING d.id
),
attempts AS (
    INSERT INTO notify_deliveryattempt (delivery_id, number, provider, outcome, error_code,
        error_message, provider_message_id, started_at, duration_ms)
    SELECT v.id, v.number, v.provider, v.outcome, v.error_code, v.error_message,
           v.provider_message_id, v.started_at, v.duration_ms
    FROM v JOIN written ON written.id = v.id
    WHERE v.attempted
)
SELECT id FROM written
"""
_RECORD_TEMPLATE = (
    "(%s::uuid, %s::uuid, %s, %s, %s, %s, %s, %s::timestamptz, %s, %s::int,"
    " %s::bool, %s::int, %s, %s, %s::timestamptz, %s::int)"
)


@dataclass(frozen=True)
class SendResult:
    delivery_id: str
    provider: str
    provider_message_id: str
    error: DeliveryError | None
    started_at: datetime
    duration_ms: int
    # Set when the message was not sent at all (e.g. the address is suppressed).
    skipped: str = ""

    @classmethod
    def skip(cls, delivery_id: str, reason: str) -> SendResult:
        return cls(delivery_id, "", "", None, timezone.now(), 0, skipped=reason)


def retry_delay(*, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider asked."""
    delay = backoff_delay(
        attempts=attempts,
        base=settings.NOTIFY_RETRY_BASE_SECONDS,
        cap=settings.NOTIFY_RETRY_MAX_SECONDS,
    )
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.NOTIFY_RETRY_MAX_SECONDS))
    return delay


def _decide(delivery: Delivery, result: SendResult, now: datetime) -> tuple[str, datetime | None]:
    error = result.error
    if result.skipped:
        return "skipped", None
    if error is None:
        return "sent", None
    if error.throttled and not error.permanent:
        # The provider refused our rate, not the message: wait as asked, attempt refunded.
        return "pending", now + timedelta(seconds=max(error.retry_after or 1.0, 0.05))
    if error.permanent:
        return "failed", None
    if error.ambiguous and delivery.channel in looked_up():
        # Still `sending`, under no worker's lease: the sweeper reconciles it when this ends.
        return "sending", now + timedelta(seconds=settings.NOTIFY_RECONCILE_AFTER_SECONDS)
    if delivery.attempts >= delivery.max_attempts:
        return "failed", None
    delay = retry_delay(attempts=delivery.attempts, retry_after=error.retry_after)
    return "pending", now + timedelta(seconds=delay)


def deliveries_record(
    *, channel: str, token: uuid.UUID, deliveries: list[Delivery], results: list[SendResult]
) -> None:
    now = timezone.now()
    rows, dead_devices, suppress, retries = [], [], [], []
    changes: list[DeliveryChange] = []
    for delivery, result in zip(deliveries, results, strict=True):
        status, next_at = _decide(delivery, result, now)
        error = result.error
        code = "suppressed" if result.skipped else (error.code if error else "")
        text = result.skipped or _error_text(delivery, error, status)
        throttled = error is not None and error.throttled and status == "pending"
        # After an ambiguous send, the retry stays with the provider that may have it.
        pinned = result.provider if error is not None and error.ambiguous else ""
        rows.append(
            (
                str(delivery.id),
                str(token),
                status,
                result.provider,
                result.provider_message_id,
                code,
                text,
                next_at,
                pinned,
                1 if throttled else 0,
                # The attempt row: one per provider call (DeliveryAttempt's fields).
                not result.skipped,
                delivery.attempts,
                error.outcome if error else _SENT,
                error.message if error else "",
                result.started_at,
                result.duration_ms,
            )
        )
        changes.append(_change(delivery, result, status))
        if error is not None:
            _log(channel, delivery, error, status)
            if error.deactivate_device and delivery.device_id:
                dead_devices.append(delivery.device_id)
            if error.suppress:
                suppress.append((delivery.notification.tenant, delivery.to, error))
        if status == "pending" and next_at is not None:
            retries.append((next_at, delivery.priority))
    # Only rows still under our token were written (and stay locked until commit): their
    # attempts and changes are recorded; a row another worker took over, or one deleted
    # meanwhile, keeps what it has. One statement is atomic on its own; the rare extra
    # writes (a dead device, a new suppression) share a transaction with it.
    extra = bool(dead_devices or suppress)
    with transaction.atomic() if extra else nullcontext(), connection.cursor() as cursor:
        written = {
            str(row[0])
            for row in execute_values(
                cursor.cursor,
                _RECORD_SQL,
                rows,
                template=_RECORD_TEMPLATE,
                page_size=len(rows) or 1,
                fetch=True,
            )
        }
        changes_emit([c for c in changes if c.delivery_id in written])  # after this commits
        if dead_devices:
            Device.objects.filter(id__in=dead_devices).update(
                active=False, deactivated_reason="provider reported the token unregistered"
            )
        for tenant, address, error in suppress:
            # Twilio 21610: the person texted STOP; email: the server refused the mailbox.
            reason = "unsubscribed" if error.code == "21610" else "bounced"
            suppression_add(
                tenant=tenant, channel=channel, address=address, reason=reason, detail=error.message
            )
    _protect_providers(results)
    _schedule_retries(channel, retries, now)
    failed = [row[0] for row in rows if row[2] == "failed" and row[0] in written]
    if failed:
        # "fallback" notifications try their next channel.
        deliveries_fall_back(failed_ids=failed)


def _protect_providers(results: list[SendResult]) -> None:
    """Pause providers that throttled us; count each provider's failures for its breaker
    (permanent errors are about the message, not the provider, and do not count)."""
    calls: dict[str, int] = {}
    failures: dict[str, int] = {}
    for result in results:
        error = result.error
        if (
            result.skipped
            or not result.provider
            or (error and error.permanent and not error.config)
        ):
            continue
        if error is not None and error.throttled:
            provider_pause(provider=result.provider, seconds=error.retry_after or 1.0)
            continue
        calls[result.provider] = calls.get(result.provider, 0) + 1
        failures[result.provider] = failures.get(result.provider, 0) + (error is not None)
    for provider, count in calls.items():
        breaker_record(provider=provider, calls=count, failures=failures[provider])


def _change(delivery: Delivery, result: SendResult, status: str) -> DeliveryChange:
    error = result.error
    return DeliveryChange(
        delivery_id=str(delivery.id),
        notification_id=str(delivery.notification_id),
        channel=delivery.channel,
        status=status,
        provider=result.provider,
        error_code="suppressed" if result.skipped else (error.code if error else ""),
        outcome=SKIPPED_OUTCOME if result.skipped else (error.outcome if error else _SENT),
        duration_ms=None if result.skipped else result.duration_ms,
        accepted_at=delivery.notification.created_at,
    )


def _schedule_retries(channel: str, retries: list[tuple[datetime, int]], now: datetime) -> None:
    """One delayed doorbell per lane for the earliest retry; waits longer than a few minutes
    are left to the sweeper (long countdowns on Redis re-run after the visibility timeout)."""
    earliest: dict[str, datetime] = {}
    for next_at, priority in retries:
        lane = lane_for(priority)
        if lane not in earliest or next_at < earliest[lane]:
            earliest[lane] = next_at
    for lane, next_at in earliest.items():
        countdown = max(0.0, (next_at - now).total_seconds())
        if countdown <= settings.NOTIFY_MAX_COUNTDOWN_SECONDS:
            bell_ring(channel=channel, lane=lane, countdown=countdown + 0.05)


def _error_text(delivery: Delivery, error: DeliveryError | None, status: str) -> str:
    if error is None:
        return ""
    if status == "sending":
        return (
            f"{error.message} — the provider may have accepted it; checking with the provider "
            "before any resend"
        )
    if status == "failed" and not error.permanent:
        return f"{error.message} — gave up after {delivery.attempts} attempts"
    return error.message


def _log(channel: str, delivery: Delivery, error: DeliveryError, status: str) -> None:
    level = logging.ERROR if error.config else logging.WARNING
    logger.log(
        level,
        "%s: delivery %s attempt %d %s → %s (%s): %s",
        channel,
        delivery.id,
        delivery.attempts,
        error.outcome,
        status,
        error.code,
        error.message,
    )
