"""When a digest flushes: a burst window ("10m": ten minutes after the message that opened
it) or a local time of day ("daily@09:00", "weekly@mon@09:00") in the recipient's time zone.

Local times are resolved with zoneinfo on the day they fall: on a spring-forward day a time
that does not exist (02:30 in New York) is read with the offset in force before the change,
so it flushes at the first instant after the gap (03:30 local); on a fall-back day a time that
happens twice flushes at its first occurrence, and a digest opened in the repeated hour
waits for the next day's, so no local day sees two flushes."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

_WINDOW = re.compile(r"(\d{1,6})([smhd])", re.ASCII)
_DAILY = re.compile(r"daily@(\d{2}):(\d{2})", re.ASCII)
_WEEKLY = re.compile(r"weekly@(mon|tue|wed|thu|fri|sat|sun)@(\d{2}):(\d{2})", re.ASCII)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WINDOW = timedelta(days=7)


class BadRule(ValueError):
    pass


def window_parse(value: str) -> timedelta:
    """ "90s", "10m", "2h", "1d": between one second and seven days."""
    match = _WINDOW.fullmatch(value or "")
    if not match:
        raise BadRule("A window is a number and a unit: 30s, 10m, 2h or 1d.")
    window = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if not timedelta(seconds=1) <= window <= MAX_WINDOW:
        raise BadRule("A window is between 1s and 7d.")
    return window


def schedule_parse(value: str) -> tuple[int | None, time]:
    """(weekday or None for every day, local time): "daily@18:00", "weekly@mon@09:00"."""
    daily, weekly = _DAILY.fullmatch(value or ""), _WEEKLY.fullmatch(value or "")
    if daily:
        day, hour, minute = None, int(daily.group(1)), int(daily.group(2))
    elif weekly:
        day = _DAYS.index(weekly.group(1))
        hour, minute = int(weekly.group(2)), int(weekly.group(3))
    else:
        raise BadRule('A schedule is "daily@HH:MM" or "weekly@mon@HH:MM" (mon … sun).')
    if hour > 23 or minute > 59:
        raise BadRule("The time of day is HH:MM, from 00:00 to 23:59.")
    return day, time(hour, minute)


def rule_check(value: str) -> None:
    """BadRule unless `value` is a window or a schedule."""
    if value[:1].isdigit():
        window_parse(value)
    else:
        schedule_parse(value)


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def flush_time(*, rule: str, opened: datetime, timezone: str) -> datetime:
    """When a digest opened at `opened` under `rule` flushes (UTC)."""
    if rule[:1].isdigit():
        return opened + window_parse(rule)
    weekday, at = schedule_parse(rule)
    tz = zone_of(timezone)
    today = opened.astimezone(tz).date()
    for ahead in range(8 if weekday is None else 15):
        day = today + timedelta(days=ahead)
        if weekday is not None and day.weekday() != weekday:
            continue
        when = _local(day, at, tz)
        if when > opened:
            return when
    raise AssertionError("unreachable: a week always has the day")  # pragma: no cover


def _local(day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    # fold=0: the earlier reading of a repeated time, the pre-transition offset in a gap.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
