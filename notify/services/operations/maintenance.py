from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from notify.models.audiences import Broadcast
from notify.models.notifications import Notification


def idempotency_keys_purge() -> int:
    """Forget Idempotency-Keys older than the documented retention (24 h by default), of
    notifications and of broadcasts; the rows themselves stay. Returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.NOTIFY_IDEMPOTENCY_TTL_HOURS)
    return sum(
        model.objects.filter(idempotency_key__isnull=False, created_at__lt=cutoff).update(
            idempotency_key=None
        )
        for model in (Notification, Broadcast)
    )
