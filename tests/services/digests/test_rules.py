"""When digests flush: windows, and local times in the recipient's zone across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notify.services.digests.rules import BadRule, flush_time, rule_check

NY = "America/New_York"


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_window_flushes_that_long_after_the_first_message() -> None:
    opened = _utc(2026, 3, 1, 12, 0)
    assert flush_time(rule="10m", opened=opened, timezone=NY) == opened + timedelta(minutes=10)
    assert flush_time(rule="2s", opened=opened, timezone="") == opened + timedelta(seconds=2)


def test_daily_is_the_next_occurrence_of_the_local_time() -> None:
    # 08:00 in New York (EST, UTC-5) on 2026-01-15: today's 09:00 is still ahead.
    assert flush_time(rule="daily@09:00", opened=_utc(2026, 1, 15, 13), timezone=NY) == _utc(
        2026, 1, 15, 14
    )
    # 10:00 local: tomorrow's.
    assert flush_time(rule="daily@09:00", opened=_utc(2026, 1, 15, 15), timezone=NY) == _utc(
        2026, 1, 16, 14
    )
    # Same instant, Tokyo (UTC+9): it is already 00:00 on the 16th there.
    assert flush_time(
        rule="daily@09:00", opened=_utc(2026, 1, 15, 15), timezone="Asia/Tokyo"
    ) == _utc(2026, 1, 16, 0)


def test_weekly_waits_for_the_named_day() -> None:
    # 2026-01-15 is a Thursday; the next Monday is the 19th.
    assert flush_time(rule="weekly@mon@09:00", opened=_utc(2026, 1, 15, 13), timezone=NY) == _utc(
        2026, 1, 19, 14
    )


def test_spring_forward_a_missing_local_time_flushes_just_after_the_gap() -> None:
    # 2026-03-08: New York skips 02:00-03:00. daily@02:30 flushes at 03:30 EDT (07:30Z),
    # once that day, and at 02:30 EDT (06:30Z) the day after.
    before = _utc(2026, 3, 8, 5)  # 00:00 EST
    first = flush_time(rule="daily@02:30", opened=before, timezone=NY)
    assert first == _utc(2026, 3, 8, 7, 30)
    assert flush_time(rule="daily@02:30", opened=first, timezone=NY) == _utc(2026, 3, 9, 6, 30)


def test_fall_back_a_repeated_local_time_flushes_once_at_its_first_occurrence() -> None:
    # 2026-11-01: New York repeats 01:00-02:00 (EDT, then EST). daily@01:30 is 05:30Z.
    assert flush_time(rule="daily@01:30", opened=_utc(2026, 11, 1, 4), timezone=NY) == _utc(
        2026, 11, 1, 5, 30
    )
    # A digest opened in the repeated hour (01:10 EST = 06:10Z, after the first 01:30)
    # waits for the next day, not for the second 01:30 the same day.
    assert flush_time(rule="daily@01:30", opened=_utc(2026, 11, 1, 6, 10), timezone=NY) == _utc(
        2026, 11, 2, 6, 30
    )


def test_an_unknown_time_zone_counts_as_utc() -> None:
    assert flush_time(rule="daily@09:00", opened=_utc(2026, 1, 15, 8), timezone="Mars/Base") == (
        _utc(2026, 1, 15, 9)
    )


@pytest.mark.parametrize(
    "rule", ["", "0s", "8d", "10", "10x", "daily@24:00", "daily@9:00", "weekly@xyz@09:00", "hourly"]
)
def test_bad_rules_are_refused(rule: str) -> None:
    with pytest.raises(BadRule):
        rule_check(rule)
