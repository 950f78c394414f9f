"""Deciding, for one notification, which deliveries to make: one per reachable channel (per
active device for push), or with the "fallback" strategy one channel at a time. Each is
checked against suppressions and the recipient's policy (preferences, quiet hours, cap)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels import DEVICES, channel_class
from channels import names as channels_names
from notify.models.audiences import Broadcast
from notify.models.notifications import Delivery, DeliveryStatus, Notification, Priority
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.accepting.facts import Facts
from notify.services.accepting.policy import Policy, cap_window_start, policy_for
from notify.services.outbox.doorbell import bells_ring_for
from notify.services.recipients.categories import GENERAL, category_find
from notify.services.rows import LOOK_UP, row_build


@dataclass(frozen=True)
class Target:
    channel: str
    to: str
    device_id: Any = None
    skip_code: str = ""
    skip_reason: str = ""


def deliveries_plan(
    notification: Notification,
    person: Recipient,
    content: dict[str, dict[str, Any]],
    channels: list[str] | None,
    *,
    facts: Facts | None = None,
    category: Category | None = LOOK_UP,
) -> list[Delivery]:
    """`facts` answers every lookup; fetched here for this one person unless given (with
    `category` when the caller already looked it up)."""
    due = notification.send_at or timezone.now()
    order = notification.channel_order or channels or [c for c in channels_names() if c in content]
    facts = facts or facts_for(notification, person, order, due, category)
    if notification.strategy == "fallback" and not (notification.channel_order or channels):
        # The same channels, in the category's order: the facts read above still hold.
        order = _category_order(order, facts.category(notification.category or GENERAL))
    policy = _policy(notification, person, due, facts)
    if notification.strategy == "fallback":
        targets = _first_reachable(facts, person, order, policy)
    else:
        targets = [
            _apply(t, policy)
            for channel in order
            for t in _targets(facts, person, channel, explicit=bool(channels))
        ]
    return [_delivery(notification, t, due, policy) for t in targets]


def _first_reachable(
    facts: Facts, person: Recipient, order: list[str], policy: Policy
) -> list[Target]:
    """Channels in order until one can carry the message; the ones passed over are recorded
    as skipped, with why."""
    passed: list[Target] = []
    for channel in order:
        targets = [_apply(t, policy) for t in _targets(facts, person, channel, explicit=True)]
        if any(not t.skip_code for t in targets):
            return passed + targets
        passed += targets
    return passed


def _targets(facts: Facts, person: Recipient, channel: str, *, explicit: bool) -> list[Target]:
    """A channel asked for explicitly but unreachable is recorded as skipped; by default
    only the channels the recipient can be reached on are used. The channel's class says
    where its address is (channels/base.py)."""
    spec = channel_class(channel)
    if spec.addressed_by == DEVICES:
        targets = [Target(channel, token, device_id) for device_id, token in facts.devices(person)]
    else:
        address = getattr(person, spec.addressed_by) or ""
        reason = facts.suppression(channel, address) if address else ""
        skip = ("suppressed", f"address suppressed ({reason})") if reason else ("", "")
        targets = [Target(channel, address, None, *skip)] if address else []
    if not targets and explicit:
        return [Target(channel, "", None, "no_contact", f"recipient has no {spec.address_label}")]
    return targets


def _apply(target: Target, policy: Policy) -> Target:
    refusal = policy.refusal(target.channel)
    if target.skip_code or not refusal:
        return target
    code = "frequency_cap" if policy.capped else "opted_out"
    return replace(target, skip_code=code, skip_reason=refusal)


def _delivery(notification: Notification, t: Target, due: datetime, policy: Policy) -> Delivery:
    held = not t.skip_code and policy.hold_until is not None
    note = t.skip_reason
    if held:
        assert policy.hold_until is not None
        note = f"held for the recipient's quiet hours until {policy.hold_until.isoformat()}"
    return row_build(
        Delivery,
        notification=notification,
        channel=t.channel,
        to=t.to,
        device_id=t.device_id,
        status=DeliveryStatus.SKIPPED if t.skip_code else DeliveryStatus.PENDING,
        error_code=t.skip_code or ("quiet_hours" if held else ""),
        last_error=note,
        priority=notification.priority,
        next_attempt_at=policy.hold_until if held and policy.hold_until else due,
        max_attempts=settings.NOTIFY_MAX_ATTEMPTS,
    )


def facts_for(
    notification: Notification,
    person: Recipient,
    channels: Iterable[str],
    now: datetime,
    category: Category | None = LOOK_UP,
) -> Facts:
    critical = notification.priority == Priority.CRITICAL
    return Facts(
        tenant=notification.tenant,
        people=[person],
        category_key=notification.category or GENERAL,
        since=None if critical else cap_window_start(now),
        channels=channels,
        category=category,
    )


# A notification with a delivery in one of these is not done with its current channel:
# that delivery got through, may still, or was cancelled (the notification stops there).
_HOLDING = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.CANCELLED,
)


def fallback_order(notification: Notification, category: Category | None) -> list[str]:
    """The channels a "fallback" notification tries, in order, as deliveries_plan chose:
    its `channels`, else every channel it has content for, in its category's
    `fallback_order` (`category`, None when the tenant has not defined it)."""
    if notification.channel_order:
        return list(notification.channel_order)
    return _category_order([c for c in channels_names() if c in notification.content], category)


def _category_order(channels: list[str], category: Category | None) -> list[str]:
    """`channels` (those with content, in the registry's order) with the ones the category's
    `fallback_order` lists first, in its order; the others after them, as they were. The
    category orders the channels: it does not add one without content, nor drop one (which
    channels a recipient gets is `default_channels` and preferences)."""
    listed = [c for c in (category.fallback_order if category else []) if c in channels]
    return listed + [c for c in channels if c not in listed]


def deliveries_fall_back(*, failed_ids: list[Any]) -> int:
    """After final failures, found at send time or reported later by the provider: each
    "fallback" notification among them whose deliveries have all failed or been skipped
    gets the next channel in its order that it has not tried, unless it was cancelled
    (notification_cancel, or its broadcast's cancel) before. Calls for one notification
    are serialised on its row (locked in id order), so a channel is planned at most once
    however many failures arrive together. Returns how many deliveries were added; the
    doorbell rings for the due ones after commit."""
    wanted = Delivery.objects.filter(
        id__in=failed_ids, status=DeliveryStatus.FAILED, notification__strategy="fallback"
    ).values("notification_id")
    added: list[Delivery] = []
    with transaction.atomic():
        notifications = (
            Notification.objects.filter(id__in=wanted, cancelled_at__isnull=True)
            .exclude(broadcast__status=Broadcast.Status.CANCELLED)
            .select_related("recipient")
            .select_for_update(of=("self",))
            .order_by("id")
        )
        for notification in notifications:
            added += _next_channel(notification)
        due = {(d.channel, d.priority) for d in added if d.status == DeliveryStatus.PENDING}
        transaction.on_commit(lambda: bells_ring_for(due))
    return len(added)


def _next_channel(notification: Notification) -> list[Delivery]:
    seen = list(notification.deliveries.values_list("channel", "status"))
    if any(status in _HOLDING for _, status in seen):
        return []
    tried = {channel for channel, _ in seen}
    # The category as it is now: the one query Facts would make for it anyway.
    category = category_find(tenant=notification.tenant, key=notification.category or GENERAL)
    rest = [c for c in fallback_order(notification, category) if c not in tried]
    if not rest:
        return []
    now = timezone.now()
    person = notification.recipient
    facts = facts_for(notification, person, rest, now, category)
    policy = _policy(notification, person, now, facts)
    targets = _first_reachable(facts, person, rest, policy)
    return Delivery.objects.bulk_create([_delivery(notification, t, now, policy) for t in targets])


def _policy(notification: Notification, person: Recipient, now: datetime, facts: Facts) -> Policy:
    return policy_for(
        tenant=notification.tenant,
        person=person,
        category=notification.category,
        priority=notification.priority,
        now=now,
        facts=facts,
    )
