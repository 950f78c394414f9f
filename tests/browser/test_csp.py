"""The Content-Security-Policy leaves every HTML page of Notify working in a real browser: the
admin (login, index, a change list, the operations dashboard), Swagger UI, the unsubscribe
page and the provider sandbox's pages load and run with no violation reported."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from notify.models import Recipient
from notify.services.recipients.unsubscribe import unsubscribe_token
from tests.browser.conftest import Chromium, Screenshots
from tests.harness import Sandbox

pytestmark = [pytest.mark.browser]

ADMIN_USER, ADMIN_PASSWORD = "csp-operator", "correct-horse-battery-staple"


def _watch_violations(page: Any) -> list[str]:
    """Each CSP violation as Chromium reports it: a console error and a DOM event."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


def test_admin_swagger_and_unsubscribe_pages_work_under_the_csp(
    live_server: Any, chromium: Chromium, screenshots: Screenshots, transactional_db: Any
) -> None:
    get_user_model().objects.create_superuser(ADMIN_USER, "ops@example.com", ADMIN_PASSWORD)
    Recipient.objects.create(tenant="default", external_id="csp-user", email="c@example.com")
    token = unsubscribe_token(tenant="default", external_id="csp-user", category="news")
    base = live_server.url

    with chromium.page() as page:
        violations = _watch_violations(page)

        response = page.goto(f"{base}/admin/login/?next=/admin/")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.fill("#id_username", ADMIN_USER)
        page.fill("#id_password", ADMIN_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        page.goto(f"{base}/admin/notify/notification/")
        # The admin's own scripts ran: its theme toggle switches the page's theme.
        before = page.evaluate("document.documentElement.dataset.theme || 'auto'")
        page.click("button.theme-toggle")
        assert page.evaluate("document.documentElement.dataset.theme") != before
        page.goto(f"{base}/admin/dashboard/")
        assert page.locator("h2", has_text="Providers").is_visible()
        screenshots.take(page, "dashboard")

        page.goto(f"{base}/api/docs/")
        # Swagger UI's bundle and its init script (a separate request, not inline) ran.
        page.locator(".opblock").first.wait_for()
        screenshots.take(page, "swagger")

        page.goto(f"{base}/u/{token}/")
        page.click("button[type=submit]")
        page.locator("h1", has_text="unsubscribed").wait_for()

    assert violations == []


def test_the_sandbox_pages_work_under_their_csp(
    sandbox: Sandbox, chromium: Chromium, screenshots: Screenshots
) -> None:
    email = EmailMessage()
    email["Subject"], email["From"], email["To"] = "CSP check", "n@notify.test", "a@example.com"
    email.set_content("plain part")
    email.add_alternative("<p style='color: #b00'>Styled <b>HTML</b> part</p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=5) as client:
        client.send_message(email)
    [record] = sandbox.messages()

    with chromium.page() as page:
        violations = _watch_violations(page)
        response = page.goto(f"{sandbox.url}/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.get_by_text("CSP check").first.wait_for()
        page.goto(f"{sandbox.url}/messages/{record['id']}")
        page.get_by_text("CSP check").first.wait_for()
        screenshots.take(page, "sandbox-message")

    assert violations == []
