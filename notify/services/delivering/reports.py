"""Provider reports about a message after we sent it (Twilio status callbacks, ESP tracking
webhooks). They can arrive late, twice or out of order, so each is applied only if it moves
the delivery forward. A report is applied only to a delivery on the channel its provider
serves and, when it names an address, to the delivery sent there: even a correctly signed
report can then fail or suppress nothing but the message it is about, in that message's
tenant. A permanent failure reported this way (a bounce, an undelivered text) moves a
"fallback" notification to its next channel, as one found at send time does."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notify.models.notifications import Delivery, Notification
from notify.services.accepting.planning import deliveries_fall_back
from notify.services.delivering.events import DeliveryChange, changes_emit
from notify.services.recipients.suppressions import address_normal, suppression_add

logger = logging.getLogger(__name__)

# The statuses a report may move a delivery out of. `failed` with code "ambiguous" (the reply
# to our send was lost) is settled by the provider's word; any other failure is final.
_FORWARD: dict[str, set[str]] = {
    "sent": {"sending"},
    "delivered": {"sending", "sent"},
    "failed": {"sending", "sent"},
}


def _matching(
    *, channel: str, delivery_id: str | None, provider_message_id: str, address: str
) -> Delivery | None:
    """The delivery a report is about, or None when it names none of ours on `channel`."""
    if delivery_id:
        try:
            match = Q(id=uuid.UUID(str(delivery_id)))
        except ValueError:  # a malformed id in a callback URL or an ESP's metadata
            return None
    elif provider_message_id:
        match = Q(provider_message_id=provider_message_id)
    else:
        return None
    target = Delivery.objects.filter(match).select_related("notification").first()
    if target is None:
        return None
    if target.channel != channel:
        logger.warning(
            "provider report for %s delivery %s ignored: it came from a %s provider",
            target.channel,
            target.pk,
            channel,
        )
        return None
    if address and address_normal(channel, address) != address_normal(channel, target.to):
        logger.warning("provider report for delivery %s ignored: another address", target.pk)
        return None
    return target


def _apply(
    target: Delivery, status: str, provider_message_id: str, error_code: str, detail: str
) -> bool:
    """Move `target` to `status` if that is forward; announce it. Returns whether it moved."""
    movable = Q(status__in=_FORWARD[status])
    if status in ("sent", "delivered"):
        movable |= Q(status="failed", error_code="ambiguous")
    changes: dict[str, Any] = {"status": status, "updated_at": timezone.now()}
    if status == "delivered":
        changes["delivered_at"] = timezone.now()
    if status == "failed":
        changes.update(error_code=error_code or "provider_failed", last_error=detail[:2000])
    elif status in ("sent", "delivered"):
        changes.update(error_code="", last_error="")
    if provider_message_id and not target.provider_message_id:
        changes["provider_message_id"] = provider_message_id
    changed = Delivery.objects.filter(movable, pk=target.pk).update(**changes) == 1
    if changed:
        changes_emit(
            [
                DeliveryChange(
                    delivery_id=str(target.pk),
                    notification_id=str(target.notification_id),
                    channel=target.channel,
                    status=status,
                    provider=target.provider,
                    error_code=changes.get("error_code", ""),
                    source="webhook",
                    accepted_at=target.notification.created_at,
                )
            ]
        )
    return changed


def delivery_apply_report(
    *,
    channel: str,
    status: str,
    delivery_id: str | None = None,
    provider_message_id: str = "",
    address: str = "",
    error_code: str = "",
    detail: str = "",
    suppress_reason: str = "",
) -> bool:
    """Returns whether anything changed. `channel` is the one the reporting provider serves;
    `address`, when the report names one, must be the delivery's. Unknown or mismatched
    deliveries are ignored (answer the provider 2xx anyway so it stops retrying)."""
    target = _matching(
        channel=channel,
        delivery_id=delivery_id,
        provider_message_id=provider_message_id,
        address=address,
    )
    if target is None:
        return False
    with transaction.atomic():
        if status == "failed":
            # Before the delivery, in the order retention takes them: the next channel of a
            # "fallback" notification is planned by this report or by none.
            locked = Notification.objects.select_for_update().filter(pk=target.notification_id)
            list(locked.values_list("pk", flat=True))
        changed = _apply(target, status, provider_message_id, error_code, detail)
        if changed and status == "failed":
            # A provider's word that the message never arrived, e.g. a bounce or a carrier's
            # `undelivered`: a "fallback" notification tries its next channel.
            deliveries_fall_back(failed_ids=[target.pk])
    if suppress_reason:
        suppression_add(
            tenant=target.notification.tenant,
            channel=target.channel,
            address=target.to,
            reason=suppress_reason,
            detail=detail,
        )
    return changed
