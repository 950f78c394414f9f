"""Outcomes known before any provider call, for deliveries just claimed: the address was
suppressed after the notification was accepted (a bounce, a STOP: skipped), or the
notification has nothing for the delivery's channel (failed `no_content`: the accept path
refuses such messages, but a row written some other way must still not go out blank)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from channels import CHANNELS, DeliveryError
from notify.models.notifications import Delivery
from notify.services.delivering.outcomes import SendResult
from notify.services.recipients.suppressions import suppressed


def address_fold_case(channel: str) -> bool:
    """Whether the channel's addresses compare case-folded (the claim's SQL does it too)."""
    spec = CHANNELS.get(channel)  # unregistered: compared as given, like address_normal()
    return spec is not None and spec.fold_case


def address_plain(address: str) -> bool:
    """SQL's lower() and Python's str.lower()/strip() agree on these (address_normal)."""
    return address.isascii() and address == address.strip()


def deliveries_known(
    *, channel: str, deliveries: list[Delivery], stored: Mapping[Any, str | None] | None = None
) -> dict[Any, SendResult]:
    """Each delivery's outcome known already, by id. `stored`: the suppression reasons the
    claim's own statement found, trusted for plain addresses; the others (and all, without
    it) are looked up here."""
    known: dict[Any, SendResult] = {}
    unsure = []
    for delivery in deliveries:
        if stored is None or not address_plain(delivery.to):
            unsure.append(delivery)
        elif reason := stored.get(delivery.id):
            known[delivery.id] = _suppressed(delivery, reason)
    if unsure:
        known.update(_suppressed_now(channel, unsure))
    for delivery in deliveries:
        if delivery.id not in known and not delivery.notification.content.get(channel):
            error = DeliveryError(
                f"the notification has no {channel} content", permanent=True, code="no_content"
            )
            known[delivery.id] = SendResult(str(delivery.id), "", "", error, timezone.now(), 0)
    return known


def _suppressed_now(channel: str, deliveries: list[Delivery]) -> dict[Any, SendResult]:
    out: dict[Any, SendResult] = {}
    by_tenant: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_tenant.setdefault(delivery.notification.tenant, []).append(delivery)
    for tenant, group in by_tenant.items():
        reasons = suppressed(tenant=tenant, channel=channel, addresses=[d.to for d in group])
        for delivery in group:
            if delivery.to in reasons:
                out[delivery.id] = _suppressed(delivery, reasons[delivery.to])
    return out


def _suppressed(delivery: Delivery, reason: str) -> SendResult:
    return SendResult.skip(str(delivery.id), f"address suppressed ({reason})")
