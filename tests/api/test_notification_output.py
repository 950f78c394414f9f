"""The 202 body's times: the shortcut for UTC times answers exactly as DRF's DateTimeField."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers

from notify.api.notification_output import _time, in_utc

TIMES = [
    datetime(2026, 12, 2, 18, 5, 14, tzinfo=UTC),
    datetime(2026, 12, 2, 18, 5, 14, 123456, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Paris")),
    datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.parametrize("value", TIMES)
@pytest.mark.parametrize("shown_in", ["UTC", "America/New_York"])
def test_times_read_as_the_serializer_field_gives_them(value: datetime, shown_in: str) -> None:
    with django_timezone.override(ZoneInfo(shown_in)):
        assert _time(value, in_utc()) == serializers.DateTimeField().to_representation(value)
    assert _time(None, True) is None
