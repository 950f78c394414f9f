"""A developer checks what Notify sent in the provider sandbox's pages, in Chromium: the list
fills in without reloading, search and provider filters narrow it, an email opens with its
HTML rendered in a sandboxed frame, its headers and its source, an SMS shows its delivery id,
and clear all empties the list.

The messages are real: a notification posted through the API, sent by the Celery worker (the
`stack` fixture) through the real SDKs to the sandbox process the pages belong to."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.browser.conftest import Chromium
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LAPTOP = {"width": 1280, "height": 800}
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")
NOTIFICATION = {
    "recipient": {"id": "sandbox-viewer", "email": "ada@example.com", "phone": "+14155552671"},
    "content": {
        "email": {
            "subject": "Your invoice INV-42 is ready",
            "text": "Hi Ada, invoice INV-42 is ready.",
            "html": '<h1 style="color:#0969da">Invoice INV-42</h1><p>Total: <b>€12.00</b></p>',
        },
        "sms": {"text": "Your code is 424242"},
    },
}


def _sent_notification(api: APIClient, sandbox: Sandbox) -> dict[str, str]:
    """Delivery ids by channel, once the sandbox has accepted both."""
    response = api.post("/api/v1/notifications/", NOTIFICATION, format="json")
    assert response.status_code == 202, response.content
    ids = {d["channel"]: d["id"] for d in response.json()["deliveries"]}

    def arrived() -> bool:
        return all(sandbox.accepted(delivery_id=delivery_id) for delivery_id in ids.values())

    wait_for(arrived, timeout=30, interval=0.2, what="the email and the SMS in the sandbox")
    return ids


def _send_email_directly(sandbox: Sandbox, subject: str) -> None:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "ops@notify.test", "b@example.com"
    message.set_content("sent while the page was open")
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=5) as client:
        client.send_message(message)


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def _fits(page: Any) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"page is {width[0]}px wide in a {width[1]}px window"


def test_a_developer_reads_what_notify_sent_in_the_sandbox_pages(
    api: APIClient, stack: Stack, sandbox: Sandbox, chromium: Chromium, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    ids = _sent_notification(api, sandbox)
    base = sandbox.url

    with chromium.page() as page:
        page.set_viewport_size(LAPTOP)
        errors: list[str] = []  # a CSP violation or a script error shows up here
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # The list: both messages, newest first, each with its delivery id and an ISO date.
        page.goto(f"{base}/")
        rows = page.locator("#rows tr")
        expect(rows).to_have_count(2)
        expect(page.locator("#live")).to_be_visible()
        for delivery_id in ids.values():
            expect(page.locator("#rows .delivery-id", has_text=delivery_id)).to_have_count(1)
        for date in page.locator("#rows td.when").all_inner_texts():
            assert ISO_8601.match(date), date
        _fits(page)

        # A message sent while the page is open appears without a reload.
        page.evaluate("() => { window.stillTheSamePage = true; }")
        _send_email_directly(sandbox, "Arrived while watching")
        expect(rows).to_have_count(3)
        expect(rows.first).to_contain_text("Arrived while watching")
        expect(page.locator("#total")).to_have_text("3 messages")
        assert page.evaluate("() => window.stillTheSamePage") is True
        _shot(page, tmp_path, "1-list")

        # Search as you type, then the SMS tab.
        page.get_by_label("Search").fill("INV-42")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Your invoice INV-42 is ready")
        expect(page).to_have_url(re.compile(r"\?q=INV-42$"))
        page.get_by_label("Search").fill("")
        expect(rows).to_have_count(3)
        page.get_by_role("link", name=re.compile(r"^SMS · Twilio")).click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Your code is 424242")
        _shot(page, tmp_path, "2-sms-filter")

        # The SMS: its text and the delivery id Notify gave it.
        rows.first.click()
        expect(page.locator(".bubble")).to_have_text("Your code is 424242")
        expect(page.locator("dl.facts .delivery-id")).to_have_text(ids["sms"])
        expect(page.locator("dl.facts")).to_contain_text("+14155552671")
        _fits(page)
        _shot(page, tmp_path, "3-sms")

        # The email: HTML rendered in a sandboxed frame, then headers and source.
        page.goto(f"{base}/?provider=smtp&q=invoice")
        expect(rows).to_have_count(1)
        rows.first.get_by_role("link").click()
        expect(page.locator("h1")).to_contain_text("Your invoice INV-42 is ready")
        expect(page.locator("dl.facts .delivery-id")).to_have_text(ids["email"])
        frame = page.locator("iframe.email-html")
        expect(frame).to_have_attribute("sandbox", "allow-popups allow-popups-to-escape-sandbox")
        rendered = page.frame_locator("iframe.email-html").locator("h1")
        expect(rendered).to_have_text("Invoice INV-42")
        # The email's own inline style applies inside the frame.
        assert rendered.evaluate("e => getComputedStyle(e).color") == "rgb(9, 105, 218)"
        _fits(page)
        _shot(page, tmp_path, "4-email-html")

        page.get_by_role("tab", name="Text").click()
        expect(page.locator("pre.email-text")).to_contain_text("invoice INV-42 is ready")
        page.get_by_role("tab", name="Headers").click()
        headers = page.locator("#panel-headers table.headers")
        expect(headers).to_be_visible()
        expect(headers.locator("tr", has_text="Subject")).to_contain_text("INV-42")
        expect(headers.locator("tr", has_text="List-Unsubscribe-Post")).to_be_visible()
        expect(page.locator("iframe.email-html")).to_be_hidden()
        _shot(page, tmp_path, "5-email-headers")
        page.get_by_role("tab", name="Raw").click()
        expect(page.locator("pre.raw")).to_contain_text("Content-Type: multipart/alternative")
        expect(page.locator("pre.raw")).to_contain_text("Subject: Your invoice INV-42 is ready")
        _shot(page, tmp_path, "6-email-raw")

        # Clear all, after a confirmation, empties the list in place.
        page.goto(f"{base}/")
        expect(rows).to_have_count(3)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Clear all messages").click()
        expect(rows).to_have_count(0)
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#total")).to_have_text("0 messages")
        _shot(page, tmp_path, "7-cleared")
        assert errors == []

    assert sandbox.messages() == []


def test_a_link_in_an_email_opens_in_a_new_tab_outside_the_sandbox(
    sandbox: Sandbox, chromium: Chromium, tmp_path: Path
) -> None:
    # Clicking an unsubscribe link in the HTML view used to load it inside the frame, where
    # the target's framing rules refused it: a broken frame instead of the page.
    from playwright.sync_api import expect

    target = f"{sandbox.url}/_sandbox/health"
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "Links", "ops@notify.test", "c@example.com"
    message.set_content("see the HTML part")
    message.add_alternative(f'<p><a href="{target}">Unsubscribe</a></p>', subtype="html")
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=5) as client:
        client.send_message(message)
    [record] = sandbox.messages(provider="smtp")

    with chromium.page() as page:
        page.set_viewport_size(LAPTOP)
        page.goto(f"{sandbox.url}/messages/{record['id']}")
        link = page.frame_locator("iframe.email-html").get_by_role("link", name="Unsubscribe")
        with page.context.expect_page() as opened:
            link.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url == target
        assert '"ok": true' in tab.content()
        # The message page itself stays as it was.
        expect(page.frame_locator("iframe.email-html").get_by_role("link")).to_be_visible()
        _shot(page, tmp_path, "link-opened")
