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

from django.db import connection

from channels import DEVICES, channel_class
from notify.models.notifications import DeliveryStatus, Priority
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.recipients.categories import category_find
from notify.services.recipients.suppressions import suppressed_any
from notify.services.rows import LOOK_UP

# Deliveries that count towards the frequency cap: the ones that reached, or may reach, the
# person.
LIVE_STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
)


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
        # Plain SQL: every accept makes these reads (accepting/rows.py says why).
        if category is not None and not category.critical:
            for recipient_id, channel, enabled in _fetch(_PREFERENCES_SQL, [ids, category.pk]):
                self._preferences[recipient_id][channel] = enabled
        self._recent: dict[Any, int] = {}
        if since is not None:
            self._recent = dict(_fetch(*recent_query(ids, since)))
        specs = [channel_class(name) for name in set(channels)]
        self._devices: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
        if any(spec.addressed_by == DEVICES for spec in specs):
            for recipient_id, device_id, token in _fetch(_DEVICES_SQL, [ids]):
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


def _fetch(sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_PREFERENCES_SQL = """
SELECT recipient_id, channel, enabled FROM notify_preference
WHERE recipient_id = ANY(%s) AND category_id = %s
"""
# Messages counted by the frequency cap: sent since the window opened, not critical, not
# joined to a digest (a digest counts once, as its own notification), with a delivery that
# reached or may reach the person.
_RECENT_SQL = """
SELECT n.recipient_id, count(*) FROM notify_notification n
WHERE n.recipient_id = ANY(%(ids)s) AND n.created_at >= %(since)s AND n.digest_id IS NULL
  AND n.priority <> %(critical)s
  AND EXISTS (SELECT 1 FROM notify_delivery d
              WHERE d.notification_id = n.id AND d.status = ANY(%(live)s))
GROUP BY n.recipient_id
"""


def recent_query(ids: list[Any], since: datetime) -> tuple[str, dict[str, Any]]:
    """The frequency cap's count per recipient since `since`: (sql, params)."""
    live = [str(s) for s in LIVE_STATUSES]
    return _RECENT_SQL, {
        "ids": ids,
        "since": since,
        "critical": int(Priority.CRITICAL),
        "live": live,
    }


_DEVICES_SQL = """
SELECT recipient_id, id, token FROM notify_device
WHERE recipient_id = ANY(%s) AND active ORDER BY id
"""
