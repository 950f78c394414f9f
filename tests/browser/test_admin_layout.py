"""The admin pages on a laptop screen (1280x800) in Chromium: nothing scrolls sideways, a
long provider error wraps inside the attempt timeline, and every date on the page is written
one way, ISO 8601 with its offset. Rows are written with the ORM (the pipeline is not under
test here); the live server serves the admin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from notify.models import Delivery, Notification
from tests.admin.helpers import make_attempt, make_delivery, make_notification, make_recipient
from tests.browser.conftest import Chromium

pytestmark = pytest.mark.browser

ADMIN_USER, ADMIN_PASSWORD = "layout-operator", "correct-horse-battery-staple"
LAPTOP = {"width": 1280, "height": 800}
ISO_8601 = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")
# Any other way of writing a date or a time of day: "Dec. 2, 2026", "12:47 p.m.", "2026-12-02
# 12:47:03" (no T, no offset), "02/12/2026".
OTHER_DATES = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|June?|July?|Aug|Sept?|Oct|Nov|Dec)\.? \d{1,2}, \d{4}"
    r"|\b[ap]\.m\.|\bmidnight\b|\bnoon\b"
    r"|\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
)
# What a misbehaving provider really sends back: long, and with tokens that do not break.
LONG_ERROR = (
    "421 4.7.0 Temporary System Problem. Try again later (10). For more information see "
    "https://support.example.com/mail/answer/7720?topic=delivery-failures-and-retries-explained "
    + "x" * 120
    + " - gsmtp"
)


def _notification_with_history() -> tuple[Notification, Delivery]:
    recipient = make_recipient(external_id="layout-user")
    notification = make_notification(recipient)
    email = make_delivery(
        notification,
        "email",
        "failed",
        error_code="421",
        provider_message_id="<20261202124703.4F2A@smtp.example.com>",
        attempts=3,
        last_error=LONG_ERROR,
    )
    for number in (1, 2):
        make_attempt(email, number, "transient", error_code="421", error_message=LONG_ERROR)
    make_attempt(email, 3, "permanent", error_code="554", error_message="554 5.7.1 " + LONG_ERROR)
    sms = make_delivery(notification, "sms", "sent", provider_message_id="SM" + "a" * 32)
    make_attempt(sms, 1, "sent")
    return notification, email


def _log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Username").fill(ADMIN_USER)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/admin/")


def _assert_fits_and_dates(page: Any, shot: Path) -> list[str]:
    """The page does not scroll sideways and writes every date as ISO 8601 with an offset;
    returns the dates found."""
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " ...[...document.querySelectorAll('.results, .inline-group')].map("
        "   e => e.scrollWidth - e.clientWidth)]"
    )
    scroll_width, inner_width, *overflows = widths
    assert scroll_width <= inner_width, f"page is {scroll_width}px wide in a {inner_width}px window"
    assert all(overflow <= 0 for overflow in overflows), f"a table scrolls sideways: {overflows}"
    # No timeline cell spills into its neighbour (a date running into the duration).
    spilled = page.evaluate(
        "() => [...document.querySelectorAll('table.attempt-timeline td')]"
        "  .filter(td => td.scrollWidth > td.clientWidth).map(td => td.innerText)"
    )
    assert spilled == []
    text = page.locator("body").inner_text()
    assert OTHER_DATES.findall(text) == []
    return list(ISO_8601.findall(text))


def test_the_notification_page_fits_a_laptop_screen_with_iso_dates(
    live_server: Any, transactional_db: Any, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    get_user_model().objects.create_superuser(ADMIN_USER, "ops@example.com", ADMIN_PASSWORD)
    notification, email = _notification_with_history()
    base = live_server.url

    with chromium.page() as page:
        page.set_viewport_size(LAPTOP)
        _log_in(page, base)
        page.goto(f"{base}/admin/notify/notification/{notification.pk}/change/")

        timeline = page.locator("table.attempt-timeline").first
        expect(timeline.locator("tbody tr")).to_have_count(3)
        expect(timeline.locator("tbody tr").nth(2)).to_contain_text("554 5.7.1 421 4.7.0")
        # The error message wraps within its column instead of one word per line: its cell
        # is the widest of the row, over a third of the table.
        cells = timeline.locator("tbody tr").first.locator("td")
        widths = [cells.nth(i).bounding_box()["width"] for i in range(7)]
        assert widths[6] == max(widths), widths
        assert widths[6] > sum(widths) / 3, widths

        dates = _assert_fits_and_dates(page, tmp_path / "notification-1280.png")
        # created_at, two updated_at and four attempt starts at least.
        assert len(dates) >= 7, dates

        # The deliveries list, with its error column in view.
        page.goto(f"{base}/admin/notify/delivery/")
        row = page.locator("#result_list tbody tr").filter(
            has=page.locator(f'input[value="{email.pk}"]')
        )
        expect(row.locator("td.field-error_code")).to_have_text("421")
        expect(row.locator("td.field-error_code")).to_be_in_viewport()
        expect(row.locator(".field-delivery_id .notify-id")).to_have_attribute(
            "title", str(email.pk)
        )
        dates = _assert_fits_and_dates(page, tmp_path / "deliveries-1280.png")
        assert len(dates) == 2, dates  # updated_at of each row

        # The delivery's own page, its timeline included.
        page.goto(f"{base}/admin/notify/delivery/{email.pk}/change/")
        expect(page.locator("table.attempt-timeline tbody tr")).to_have_count(3)
        dates = _assert_fits_and_dates(page, tmp_path / "delivery-1280.png")
        assert len(dates) >= 6, dates  # its own dates and the three attempts'

        page.goto(f"{base}/admin/notify/notification/")
        dates = _assert_fits_and_dates(page, tmp_path / "notifications-1280.png")
        assert len(dates) == 1, dates
