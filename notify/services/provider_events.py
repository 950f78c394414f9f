"""Provider reports about a message after we sent it (Twilio status callbacks, ESP tracking
webhooks). They can arrive late, twice or out of order, so each is applied only if it moves
the delivery forward."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Q
from django.utils import timezone

from notify.models.notifications import Delivery
from notify.services.events import DeliveryChange, changes_emit
from notify.services.suppressions import suppression_add

logger = logging.getLogger(__name__)

# The statuses a report may move a delivery out of. `failed` with code "ambiguous" (the reply
# to our send was lost) is settled by the provider's word; any other failure is final.
_FORWARD: dict[str, set[str]] = {
    "sent": {"sending"},
    "delivered": {"sending", "sent"},
    "failed": {"sending", "sent"},
}


def delivery_apply_report(
    *,
    status: str,
    delivery_id: str | None = None,
    provider_message_id: str = "",
    error_code: str = "",
    detail: str = "",
    suppress_reason: str = "",
) -> bool:
    """Returns whether anything changed. Unknown deliveries are ignored (answer the provider
    2xx anyway so it stops retrying)."""
    match = Q(provider_message_id=provider_message_id) if provider_message_id else Q()
    if delivery_id:
        match = Q(id=delivery_id)
    if not match:
        return False
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
    try:
        target = Delivery.objects.filter(match).select_related("notification").first()
    except (ValueError, TypeError):  # a malformed id in a callback URL
        return False
    if target is None:
        return False
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
    if suppress_reason:
        suppression_add(
            tenant=target.notification.tenant,
            channel=target.channel,
            address=target.to,
            reason=suppress_reason,
            detail=detail,
        )
    return changed
