"""Settling SMS sends whose outcome we never saw (the reply was lost, or the worker died
mid-send): ask Twilio before sending again, so a message is neither lost nor doubled."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from channels import DeliveryError, get_channel
from channels.sms import SmsChannel
from notify.models.notifications import Delivery

logger = logging.getLogger(__name__)


def deliveries_reconcile(*, limit: int = 50) -> int:
    """Reconcile SMS deliveries left `sending` past their lease; returns how many moved."""
    now = timezone.now()
    stuck = list(
        Delivery.objects.filter(channel="sms", status="sending", lease_until__lt=now)
        .select_related("notification")
        .order_by("lease_until")[:limit]
    )
    if not stuck:
        return 0
    sms = get_channel("sms")
    assert isinstance(sms, SmsChannel)
    return sum(_settle(sms, delivery) for delivery in stuck)


def _settle(sms: SmsChannel, delivery: Delivery) -> bool:
    # The send happened between the claim and, at most, one provider timeout later.
    since = delivery.updated_at - timedelta(seconds=settings.PROVIDER_TIMEOUT + 5)
    body = delivery.notification.content.get("sms", {}).get("text", "")
    try:
        candidates = sms.find(to=delivery.to, body=body, since=since)
    except DeliveryError as exc:
        logger.warning("sms: cannot reconcile delivery %s yet: %s", delivery.id, exc.message)
        _update(delivery, lease_until=timezone.now() + timedelta(seconds=60))
        return False
    owned = set(
        Delivery.objects.filter(provider_message_id__in=candidates)
        .exclude(pk=delivery.pk)
        .values_list("provider_message_id", flat=True)
    )
    sid = next((c for c in candidates if c not in owned), None)
    if sid is not None:
        logger.info("sms: delivery %s reconciled: Twilio has it as %s", delivery.id, sid)
        return _update(
            delivery,
            status="sent",
            provider="twilio",
            provider_message_id=sid,
            error_code="",
            last_error="",
            sent_at=timezone.now(),
            lease_until=None,
        )
    if delivery.attempts >= delivery.max_attempts:
        return _update(
            delivery,
            status="failed",
            lease_until=None,
            error_code="unsent",
            last_error="Twilio never received it and attempts are exhausted",
        )
    logger.info("sms: delivery %s was never received by Twilio; sending again", delivery.id)
    return _update(
        delivery,
        status="pending",
        next_attempt_at=timezone.now(),
        lease_until=None,
        error_code="unsent",
        last_error="Twilio never received it; sending again",
    )


def _update(delivery: Delivery, **changes: object) -> bool:
    # Only if nobody settled it meanwhile (a status callback, another sweeper).
    return (
        Delivery.objects.filter(
            pk=delivery.pk, status="sending", lease_until__lt=timezone.now()
        ).update(updated_at=timezone.now(), **changes)
        == 1
    )
