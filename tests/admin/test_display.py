"""The pure helpers behind the pages: address masking, SMS segment counting, dates and ids."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notify.admin.display import display_datetime, mask_address, short_id
from notify.admin.sms import sms_length


@pytest.mark.parametrize(
    ("value", "channel", "masked"),
    [
        ("alice@example.com", "email", "a***@example.com"),
        ("+14155552671", "sms", "+1415***2671"),
        ("+4915112", "sms", "+49***12"),
        ("abcdefghijklmnopqrstuvwxyz", "push", "abcd…wxyz"),
        ("short-token", "push", "sh…"),
        ("bob@example.org", "", "b***@example.org"),
        ("+14155552671", "", "+1415***2671"),
        ("", "email", ""),
    ],
)
def test_mask_address_hides_the_middle(value: str, channel: str, masked: str) -> None:
    assert mask_address(value, channel) == masked


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("{" * 81, "GSM-7", 162, 2),
        ("é" * 160, "GSM-7", 160, 1),  # in the GSM alphabet
        ("ç" * 70, "UCS-2", 70, 1),  # lower-case ç is not
        ("a" * 69 + "\u2019", "UCS-2", 70, 1),  # a curly quote switches the whole message
        ("a" * 70 + "\u2019", "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("x" * 134 + "😀", "UCS-2", 136, 3),
    ],
)
def test_sms_length_counts_segments_like_carriers(
    text: str, encoding: str, units: int, segments: int
) -> None:
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_dates_are_iso_8601_with_the_offset_of_the_current_zone() -> None:
    moment = datetime(2026, 12, 2, 12, 47, 3, 412907, tzinfo=UTC)

    assert display_datetime(moment) == "2026-12-02T12:47:03+0000"
    with timezone.override(ZoneInfo("America/New_York")):
        assert display_datetime(moment) == "2026-12-02T07:47:03-0500"
    assert datetime.fromisoformat(display_datetime(moment)) == moment.replace(microsecond=0)


def test_short_id_shows_the_end_of_the_uuid_and_keeps_all_of_it_on_hover() -> None:
    shown = short_id("01a2374f-0726-7af7-9f20-59f06162d7dc")

    assert shown == (
        '<span class="notify-id" title="01a2374f-0726-7af7-9f20-59f06162d7dc">…6162d7dc</span>'
    )
