"""Settling sends whose outcome we never saw (the reply was lost, or the worker died
mid-send) on channels that can look a message up at the provider (SMS: Twilio): ask the
provider before sending again, so a message is neither lost nor doubled. Which channels can
is the channel registry's to say (Channel.find)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from channels import Channel, DeliveryError, get_channel, looked_up
from notify.models.notifications import Delivery
from notify.services.accepting.planning import deliveries_fall_back

logger = logging.getLogger(__name__)


def deliveries_reconcile(*, limit: int = 50) -> int:
    """Reconcile deliveries left `sending` past their lease on the channels that can look a
    message up; returns how many moved."""
    channels = looked_up()
    if not channels:
        return 0
    now = timezone.now()
    stuck = list(
        Delivery.objects.filter(channel__in=channels, status="sending", lease_until__lt=now)
        .select_related("notification")
        .order_by("lease_until")[:limit]
    )
    return sum(_settle(get_channel(delivery.channel), delivery) for delivery in stuck)


def _settle(channel: Channel, delivery: Delivery) -> bool:
    # The send happened between the claim and, at most, one provider timeout later.
    since = delivery.updated_at - timedelta(seconds=settings.PROVIDER_TIMEOUT + 5)
    content = delivery.notification.content.get(delivery.channel, {})
    name, provider = delivery.channel, channel.provider
    try:
        candidates = channel.find(to=delivery.to, content=content, since=since)
    except DeliveryError as exc:
        logger.warning("%s: cannot reconcile delivery %s yet: %s", name, delivery.id, exc.message)
        _update(delivery, lease_until=timezone.now() + timedelta(seconds=60))
        return False
    owned = set(
        Delivery.objects.filter(provider_message_id__in=candidates)
        .exclude(pk=delivery.pk)
        .values_list("provider_message_id", flat=True)
    )
    sid = next((c for c in candidates if c not in owned), None)
    if sid is not None:
        logger.info("%s: delivery %s reconciled: %s has it as %s", name, delivery.id, provider, sid)
        return _update(
            delivery,
            status="sent",
            provider=provider,
            provider_message_id=sid,
            error_code="",
            last_error="",
            sent_at=timezone.now(),
            lease_until=None,
        )
    if delivery.attempts >= delivery.max_attempts:
        failed = _update(
            delivery,
            status="failed",
            lease_until=None,
            error_code="unsent",
            last_error=f"{provider.capitalize()} never received it and attempts are exhausted",
        )
        if failed:
            deliveries_fall_back(failed_ids=[delivery.pk])  # a "fallback" notification goes on
        return failed
    logger.info(
        "%s: delivery %s was never received by %s; sending again", name, delivery.id, provider
    )
    return _update(
        delivery,
        status="pending",
        next_attempt_at=timezone.now(),
        lease_until=None,
        error_code="unsent",
        last_error=f"{provider.capitalize()} never received it; sending again",
    )


def _update(delivery: Delivery, **changes: object) -> bool:
    # Only if nobody settled it meanwhile (a status callback, another sweeper).
    return (
        Delivery.objects.filter(
            pk=delivery.pk, status="sending", lease_until__lt=timezone.now()
        ).update(updated_at=timezone.now(), **changes)
        == 1
    )
