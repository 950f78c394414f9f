"""An operator replays a failed delivery from the admin, in a real browser: Chromium logs in,
filters the deliveries to the failed ones, ticks the row, runs "Retry failed deliveries", and
watches the delivery page until the worker has sent it.

Everything is real: the live server (pytest-django's threaded HTTP server) serves the API and
the admin, a Celery worker and beat (the `stack` fixture) send through the Twilio SDK to the
provider sandbox, all on the test database."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model

from notify.services.access.apikeys import api_key_create
from tests.browser.conftest import Chromium, Screenshots
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ADMIN_USER, ADMIN_PASSWORD = "operator", "correct-horse-battery-staple"
SENT_WITHIN = 30.0  # seconds from "Go" to the delivery page showing Sent


def _failed_sms_delivery(base: str, sandbox: Sandbox) -> dict[str, Any]:
    """A delivery that failed for real: an SMS posted through the API while Twilio answers
    21211 (invalid number: permanent, so it fails after one attempt). The fault fires once."""
    _, raw_key = api_key_create(name="browser-test")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {raw_key}"
    sandbox.fault("twilio", "twilio_21211", times=1)
    response = http.post(
        f"{base}/api/v1/notifications/",
        json={
            "recipient": {"id": "browser-replay", "phone": "+14155552671"},
            "content": {"sms": {"text": "Your code is 424242"}},
        },
        timeout=10,
    )
    assert response.status_code == 202, response.text
    notification_id = response.json()["id"]

    def settled() -> dict[str, Any] | None:
        body = http.get(f"{base}/api/v1/notifications/{notification_id}/", timeout=10).json()
        delivery = body["deliveries"][0]
        return delivery if delivery["status"] in {"failed", "sent"} else None

    delivery = wait_for(settled, timeout=30, interval=0.2, what="the SMS delivery to fail")
    assert delivery["status"] == "failed", delivery
    assert delivery["error_code"] == "21211"
    assert len(sandbox.accepted(provider="twilio", delivery_id=delivery["id"])) == 0
    return delivery


def test_an_operator_replays_a_failed_delivery_from_the_admin(
    live_server: Any, stack: Stack, sandbox: Sandbox, chromium: Chromium, screenshots: Screenshots
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    get_user_model().objects.create_superuser(ADMIN_USER, "operator@example.com", ADMIN_PASSWORD)
    delivery = _failed_sms_delivery(base, sandbox)
    delivery_id = delivery["id"]

    with chromium.page() as page:
        # Log in as a person would.
        page.goto(f"{base}/admin/")
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(
            page.get_by_role("heading", name="Notifications, deliveries, templates and keys")
        ).to_be_visible()

        # Deliveries, filtered to the failed ones with the sidebar's link.
        page.get_by_role("link", name="Deliveries", exact=True).first.click()
        expect(page).to_have_url(re.compile(r"/admin/notify/delivery/$"))
        page.locator("#changelist-filter").get_by_role("link", name="Failed", exact=True).click()
        expect(page).to_have_url(re.compile(r"status__exact=failed"))
        row = page.locator("#result_list tbody tr").filter(
            has=page.locator(f'input[value="{delivery_id}"]')
        )
        expect(row).to_have_count(1)
        expect(row.locator("td.field-status")).to_have_text("Failed")
        expect(row.locator("td.field-error_code")).to_have_text("21211")

        # Tick it, choose the action, go.
        row.locator("input.action-select").check()
        page.locator('select[name="action"]').select_option(label="Retry failed deliveries")
        screenshots.take(page, "1-failed-list")
        page.get_by_role("button", name="Go").click()
        success = page.locator("ul.messagelist li.success")
        expect(success).to_have_text("1 delivery put back in line for sending.")
        screenshots.take(page, "2-retry-requested")

        # The fault was one-time: the worker sends it now. Reload its page until it says so.
        page.goto(f"{base}/admin/notify/delivery/{delivery_id}/change/")
        status = page.locator(".field-status .readonly")
        deadline = time.monotonic() + SENT_WITHIN
        while status.inner_text().strip() != "Sent":
            assert time.monotonic() < deadline, (
                f"delivery page still shows {status.inner_text()!r} after {SENT_WITHIN}s"
            )
            time.sleep(0.5)
            page.reload()
        expect(page.locator(".field-provider_message_id .readonly")).to_have_text(
            re.compile(r"^SM")
        )
        expect(page.locator(".field-attempts .readonly")).to_have_text("2")
        screenshots.take(page, "3-sent")

    accepted = sandbox.accepted(provider="twilio", delivery_id=delivery_id)
    assert len(accepted) == 1, accepted
    assert accepted[0]["to"] == "+14155552671"
    assert accepted[0]["body"]["Body"] == "Your code is 424242"
