"""What the recipient has asked for: which channels a category may use, when messages may
arrive, how many. Critical messages (priority critical, or a critical category) ignore all
of it; suppressions still apply."""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings

from channels import names as channel_names
from notify.models.notifications import Priority
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.accepting.facts import Facts
from notify.services.recipients.categories import GENERAL


@dataclass(frozen=True)
class Policy:
    critical: bool
    category_key: str
    # Channel → None (allowed) or the reason it is not.
    refused: dict[str, str] = field(default_factory=dict)
    hold_until: datetime | None = None
    capped: str = ""

    def refusal(self, channel: str) -> str:
        return self.capped or self.refused.get(channel, "")


def policy_for(
    *,
    tenant: str,
    person: Recipient,
    category: str,
    priority: int,
    now: datetime,
    facts: Facts,
) -> Policy:
    key = category or GENERAL
    found = facts.category(key)
    if priority == Priority.CRITICAL or (found is not None and found.critical):
        return Policy(critical=True, category_key=key)
    chosen = facts.preferences(person, found) if found is not None else {}
    return Policy(
        critical=False,
        category_key=key,
        refused=_refused(chosen, found, key),
        hold_until=quiet_hours_end(person, now),
        capped=_capped(person, now, facts),
    )


def _refused(chosen: dict[str, bool], category: Category | None, key: str) -> dict[str, str]:
    defaults = set(category.default_channels) if category and category.default_channels else None
    refused = {}
    for channel in channel_names():
        enabled = chosen.get(channel, defaults is None or channel in defaults)
        if not enabled:
            refused[channel] = f"recipient opted out of '{key}' on {channel}"
    return refused


def quiet_hours_end(person: Recipient, now: datetime) -> datetime | None:
    """When the recipient's quiet hours end, if `now` falls inside them."""
    start, end = person.quiet_hours_start, person.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    try:
        tz = zoneinfo.ZoneInfo(person.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(tz)
    t = local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)


def cap_window_start(now: datetime) -> datetime | None:
    """Where the frequency-cap window starts, or None when no cap is configured."""
    limit = _parse_cap(settings.NOTIFY_FREQUENCY_CAP)
    return None if limit is None else now - limit[1]


def _capped(person: Recipient, now: datetime, facts: Facts) -> str:
    limit = _parse_cap(settings.NOTIFY_FREQUENCY_CAP)
    if limit is None or not person.pk:
        return ""
    count, window = limit
    if facts.recent(person, now - window) >= count:
        period = settings.NOTIFY_FREQUENCY_CAP.split("/")[1].strip()
        return f"frequency cap: {count} non-critical messages per {period}"
    return ""


@functools.lru_cache(maxsize=16)
def _parse_cap(value: str) -> tuple[int, timedelta] | None:
    # Asked twice per planned notification, of the same setting: parsed once per value.
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*", value or "")
    if not match:
        return None
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(3)]
    return int(match.group(1)), timedelta(seconds=unit * int(match.group(2) or 1))
