"""What planning needs to know about recipients (their category preferences, recent
messages, devices, suppressed addresses), behind one interface with two sources: `LiveFacts`
asks the database per question (one notification); `ChunkFacts` asks once for a whole chunk
of recipients (broadcast expansion), so a chunk costs a handful of queries, not a handful
per person. The planning rules are the same either way."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from django.db.models import Count, Exists, OuterRef

from notify.models.notifications import Delivery, Notification, Priority
from notify.models.preferences import Category, Preference
from notify.models.recipients import Device, Recipient
from notify.services.suppressions import suppressed

# Deliveries that count towards the frequency cap: the ones that reached, or may reach, the
# person.
LIVE_STATUSES = ("pending", "sending", "sent", "delivered")


class Facts(Protocol):
    def category(self, key: str) -> Category | None: ...

    def preferences(self, person: Recipient, category: Category) -> dict[str, bool]: ...

    def recent(self, person: Recipient, since: datetime) -> int: ...

    def devices(self, person: Recipient) -> list[tuple[Any, str]]: ...

    def suppression(self, channel: str, address: str) -> str: ...


class LiveFacts:
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def category(self, key: str) -> Category | None:
        return Category.objects.filter(tenant=self.tenant, key=key).first()

    def preferences(self, person: Recipient, category: Category) -> dict[str, bool]:
        if not person.pk:
            return {}
        rows = Preference.objects.filter(recipient=person, category=category)
        return dict(rows.values_list("channel", "enabled"))

    def recent(self, person: Recipient, since: datetime) -> int:
        if not person.pk:
            return 0
        return _recent(Notification.objects.filter(recipient=person), since).count()

    def devices(self, person: Recipient) -> list[tuple[Any, str]]:
        return list(person.devices.filter(active=True).values_list("id", "token"))

    def suppression(self, channel: str, address: str) -> str:
        return suppressed(tenant=self.tenant, channel=channel, addresses=[address]).get(address, "")


class ChunkFacts:
    """Everything about `people` fetched up front: one query per kind of fact. `since` is
    the start of the frequency-cap window (None: no cap, nothing counted)."""

    def __init__(
        self,
        *,
        tenant: str,
        people: Iterable[Recipient],
        category_key: str,
        since: datetime | None,
        channels: Iterable[str],
    ) -> None:
        self.tenant = tenant
        people = list(people)
        ids = [p.pk for p in people]
        self._category = Category.objects.filter(tenant=tenant, key=category_key).first()
        self._preferences: dict[Any, dict[str, bool]] = defaultdict(dict)
        if self._category is not None:
            rows = Preference.objects.filter(recipient_id__in=ids, category=self._category)
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
        channels = set(channels)
        self._devices: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
        if "push" in channels:
            found = Device.objects.filter(recipient_id__in=ids, active=True).order_by("id")
            for recipient_id, device_id, token in found.values_list("recipient_id", "id", "token"):
                self._devices[recipient_id].append((device_id, token))
        self._suppressed: dict[tuple[str, str], str] = {}
        for channel, field in (("email", "email"), ("sms", "phone")):
            if channel in channels:
                addresses = [getattr(p, field) for p in people if getattr(p, field)]
                for address, reason in suppressed(
                    tenant=tenant, channel=channel, addresses=addresses
                ).items():
                    self._suppressed[(channel, address)] = reason

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
        notifications.filter(created_at__gte=since)
        .exclude(priority=Priority.CRITICAL)
        .filter(Exists(live))
    )
