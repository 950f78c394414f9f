"""What the recipient asked for: opt-outs per category and channel, quiet hours, the
frequency cap; critical messages pass all of it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from notify.models import Notification, Recipient
from notify.models.notifications import Priority
from notify.models.preferences import Category, Preference
from notify.services.accepting.facts import Facts
from notify.services.accepting.policy import cap_window_start, policy_for, quiet_hours_end

NY = ZoneInfo("America/New_York")


def _person(**fields: Any) -> Recipient:
    return Recipient(external_id="p", **fields)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 2, 23, 30, tzinfo=NY), datetime(2026, 3, 3, 7, 0, tzinfo=NY)),
        (datetime(2026, 3, 3, 6, 59, tzinfo=NY), datetime(2026, 3, 3, 7, 0, tzinfo=NY)),
        (datetime(2026, 3, 3, 7, 0, tzinfo=NY), None),
        (datetime(2026, 3, 3, 21, 59, tzinfo=NY), None),
    ],
    ids=["late-evening", "early-morning", "at-the-end", "before-the-start"],
)
def test_quiet_hours_across_midnight_end_at_the_next_local_end(
    local: datetime, expected: datetime | None
) -> None:
    person = _person(
        timezone="America/New_York", quiet_hours_start=time(22), quiet_hours_end=time(7)
    )

    assert quiet_hours_end(person, local.astimezone(UTC)) == expected


def test_quiet_hours_within_a_day_and_degenerate_settings() -> None:
    noon = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)
    lunch = _person(quiet_hours_start=time(12), quiet_hours_end=time(13))
    assert quiet_hours_end(lunch, noon) == datetime(2026, 3, 3, 13, 0, tzinfo=ZoneInfo("UTC"))
    assert (
        quiet_hours_end(_person(quiet_hours_start=time(12), quiet_hours_end=time(12)), noon) is None
    )
    assert quiet_hours_end(_person(quiet_hours_start=time(12)), noon) is None
    # An unknown time zone is read as UTC rather than failing the notification.
    bad = _person(timezone="Mars/Olympus", quiet_hours_start=time(12), quiet_hours_end=time(13))
    assert quiet_hours_end(bad, noon) == datetime(2026, 3, 3, 13, 0, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("cap", "window"),
    [
        ("3/h", timedelta(hours=1)),
        (" 10 / 2d ", timedelta(days=2)),
        ("5/30m", timedelta(minutes=30)),
    ],
)
def test_the_cap_window_follows_the_setting(cap: str, window: timedelta) -> None:
    now = datetime(2026, 3, 3, 12, tzinfo=UTC)
    with override_settings(NOTIFY_FREQUENCY_CAP=cap):
        assert cap_window_start(now) == now - window


@pytest.mark.parametrize("cap", ["", "lots", "3/week"])
def test_no_or_unreadable_cap_means_no_cap(cap: str) -> None:
    with override_settings(NOTIFY_FREQUENCY_CAP=cap):
        assert cap_window_start(datetime(2026, 3, 3, tzinfo=UTC)) is None


def _policy(person: Recipient, *, category: str, priority: int = Priority.NORMAL) -> Any:
    now = datetime.now(UTC)
    facts = Facts(
        tenant="default",
        people=[person],
        category_key=category,
        since=cap_window_start(now),
        channels=["email", "sms"],
    )
    return policy_for(
        tenant="default", person=person, category=category, priority=priority, now=now, facts=facts
    )


def test_an_opt_out_refuses_that_channel_only_and_critical_ignores_it(db: Any) -> None:
    person = Recipient.objects.create(external_id="p-opt", email="p@example.com")
    news = Category.objects.create(key="news")
    Preference.objects.create(recipient=person, category=news, channel="sms", enabled=False)

    normal = _policy(person, category="news")
    critical = _policy(person, category="news", priority=Priority.CRITICAL)

    assert normal.refusal("sms") == "recipient opted out of 'news' on sms"
    assert normal.refusal("email") == ""
    assert (critical.critical, critical.refusal("sms")) == (True, "")


def test_default_channels_refuse_the_others_unless_chosen(db: Any) -> None:
    person = Recipient.objects.create(external_id="p-default")
    digest = Category.objects.create(key="digest", default_channels=["email"])
    Preference.objects.create(recipient=person, category=digest, channel="push", enabled=True)

    policy = _policy(person, category="digest")

    assert policy.refused == {"sms": "recipient opted out of 'digest' on sms"}


def test_the_frequency_cap_refuses_every_channel_once_reached(db: Any) -> None:
    person = Recipient.objects.create(external_id="p-cap", email="p@example.com")
    for _ in range(2):
        notification = Notification.objects.create(recipient=person, content={})
        notification.deliveries.create(
            channel="email", to="p@example.com", next_attempt_at=datetime.now(UTC)
        )
    # A critical message does not count towards the cap.
    urgent = Notification.objects.create(recipient=person, content={}, priority=Priority.CRITICAL)
    urgent.deliveries.create(channel="email", to="p@example.com", next_attempt_at=datetime.now(UTC))

    with override_settings(NOTIFY_FREQUENCY_CAP="2/h"):
        capped = _policy(person, category="")
    with override_settings(NOTIFY_FREQUENCY_CAP="3/h"):
        free = _policy(person, category="")

    assert (
        capped.refusal("email")
        == capped.refusal("push")
        == "frequency cap: 2 non-critical messages per h"
    )
    assert free.refusal("email") == ""
