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
from notify.models.notifications import Delivery, DeliveryStatus, Notification, Priority
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.accepting.facts import Facts
from notify.services.accepting.policy import Policy, cap_window_start, policy_for
from notify.services.outbox.doorbell import bells_ring_for
from notify.services.recipients.categories import GENERAL
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
    policy = policy_for(
        tenant=notification.tenant,
        person=person,
        category=notification.category,
        priority=notification.priority,
        now=due,
        facts=facts,
    )
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


def deliveries_fall_back(*, failed_ids: list[Any]) -> int:
    """After permanent failures: for "fallback" notifications, plan the next channel in
    their order that has not been tried. Returns how many deliveries were added."""
    failed = list(
        Delivery.objects.filter(
            id__in=failed_ids, status=DeliveryStatus.FAILED, notification__strategy="fallback"
        ).select_related("notification__recipient")
    )
    added: list[Delivery] = []
    with transaction.atomic():
        for delivery in failed:
            notification = delivery.notification
            tried = set(notification.deliveries.values_list("channel", flat=True))
            rest = [c for c in notification.channel_order if c not in tried]
            if not rest:
                continue
            now = timezone.now()
            facts = facts_for(notification, notification.recipient, rest, now)
            policy = policy_for(
                tenant=notification.tenant,
                person=notification.recipient,
                category=notification.category,
                priority=notification.priority,
                now=now,
                facts=facts,
            )
            targets = _first_reachable(facts, notification.recipient, rest, policy)
            added += Delivery.objects.bulk_create(
                [_delivery(notification, t, now, policy) for t in targets]
            )
        due = {(d.channel, d.priority) for d in added if d.status == DeliveryStatus.PENDING}
        transaction.on_commit(lambda: bells_ring_for(due))
    return len(added)
