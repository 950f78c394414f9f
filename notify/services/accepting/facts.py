"""What planning needs to know about recipients — their category, preferences, recent
messages, devices and suppressed addresses — fetched up front for a list of people: one
query per kind of fact, however many people. A single request passes a list of one; a
broadcast chunk passes hundreds, so it costs a handful of queries, not a handful per person.
The planning rules never touch the database themselves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef

from channels import DEVICES, channel_class
from notify.models.notifications import Delivery, DeliveryStatus, Notification, Priority
from notify.models.preferences import Category, Preference
from notify.models.recipients import Device, Recipient
from notify.services.recipients.suppressions import suppressed_any

# Deliveries that count towards the frequency cap: the ones that reached, or may reach, the
# person.
LIVE_STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
)
# Passed as `category` when the caller has not looked the category up yet.
LOOK_UP: Any = object()


def category_find(*, tenant: str, key: str) -> Category | None:
    return Category.objects.filter(tenant=tenant, key=key).first()


class Facts:
    """`since` is the start of the frequency-cap window (None: no cap, nothing counted);
    `category` may be passed when the caller has already looked it up."""

    def __init__(
        self,
        *,
        tenant: str,
        people: Iterable[Recipient],
        category_key: str,
        since: datetime | None,
        channels: Iterable[str],
        category: Category | None = LOOK_UP,
    ) -> None:
        people = list(people)
        ids = [p.pk for p in people]
        if category is LOOK_UP:
            category = category_find(tenant=tenant, key=category_key)
        self._category = category
        self._preferences: dict[Any, dict[str, bool]] = defaultdict(dict)
        if category is not None and not category.critical:
            rows = Preference.objects.filter(recipient_id__in=ids, category=category)
            for recipient_id, channel, enabled in rows.values_list(
                "recipient_id", "channel", "enabled"
            ):
                self._preferences[recipient_id][channel] = enabled
        self._recent: dict[Any, int] = {}
        if since is not None:
            counted = _recent(Notification.objects.filter(recipient_id__in=ids), since)
            self._recent = dict(
                counted.values("recipient_id")
                .annotate(n=Count("id"))
                .values_list("recipient_id", "n")
            )
        specs = [channel_class(name) for name in set(channels)]
        self._devices: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
        if any(spec.addressed_by == DEVICES for spec in specs):
            found = Device.objects.filter(recipient_id__in=ids, active=True).order_by("id")
            for recipient_id, device_id, token in found.values_list("recipient_id", "id", "token"):
                self._devices[recipient_id].append((device_id, token))
        self._suppressed = suppressed_any(
            tenant=tenant,
            addresses={
                spec.name: [getattr(p, spec.addressed_by) for p in people]
                for spec in specs
                if spec.addressed_by != DEVICES
            },
        )

    def category(self, key: str) -> Category | None:
        return self._category if self._category is not None and self._category.key == key else None

    def preferences(self, person: Recipient, category: Category) -> dict[str, bool]:
        return self._preferences.get(person.pk, {})

    def recent(self, person: Recipient, since: datetime) -> int:
        return self._recent.get(person.pk, 0)

    def devices(self, person: Recipient) -> list[tuple[Any, str]]:
        return self._devices.get(person.pk, [])

    def suppression(self, channel: str, address: str) -> str:
        return self._suppressed.get((channel, address), "")


def _recent(notifications: Any, since: datetime) -> Any:
    live = Delivery.objects.filter(notification=OuterRef("pk"), status__in=LIVE_STATUSES)
    return (
        notifications.filter(created_at__gte=since, digest__isnull=True)  # a digest counts once
        .exclude(priority=Priority.CRITICAL)
        .filter(Exists(live))
    )
