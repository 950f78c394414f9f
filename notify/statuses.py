"""The words a delivery's state is told in: its status, and each provider attempt's outcome.

Defined outside notify.models (whose package imports every model) so that modules loaded
before Django's app registry is ready — the metrics, imported by the Celery app and by
gunicorn's hooks — read the same enums as the models instead of writing the words again."""

from __future__ import annotations

from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # accepted; waiting for a worker, for send_at or for its next retry
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider confirmed delivery
    FAILED = "failed"  # permanent error or attempts exhausted
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # no contact point, or suppressed


TERMINAL_STATUSES = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.CANCELLED,
        DeliveryStatus.SKIPPED,
    }
)


class AttemptOutcome(models.TextChoices):
    """How one provider call ended (DeliveryAttempt.outcome)."""

    SENT = "sent"
    TRANSIENT = "transient"  # will be retried
    PERMANENT = "permanent"
    CONFIG = "config"  # our credentials or set-up are wrong
    AMBIGUOUS = "ambiguous"  # the provider may have accepted it


# A delivery change's outcome: an attempt's, or `skipped` when no attempt was made (the
# address was suppressed between accept and send).
SKIPPED_OUTCOME = DeliveryStatus.SKIPPED.value
ERROR_OUTCOMES = frozenset(AttemptOutcome.values) - {AttemptOutcome.SENT.value}
