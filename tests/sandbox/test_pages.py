from __future__ import annotations

import smtplib
from email.message import EmailMessage

from .helpers import ACCOUNT_SID, AUTH_TOKEN, Sandbox

SMS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def send_sms(sandbox: Sandbox, body: str) -> None:
    form = {"To": "+15550000001", "From": "+15017122661", "Body": body}
    response = sandbox.api("POST", SMS_PATH, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert response.status_code == 201


def send_email(sandbox: Sandbox, subject: str, html: str) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "noreply@notify.test"
    message["To"] = "ada@example.com"
    message.set_content("plain")
    message.add_alternative(html, subtype="html")
    assert sandbox.smtp_port is not None
    with smtplib.SMTP(sandbox.host, sandbox.smtp_port, timeout=5) as client:
        client.send_message(message)


def send_postmark(sandbox: Sandbox, subject: str, html: str) -> None:
    body = {
        "From": "noreply@notify.test",
        "To": '"<b>grace</b>"@example.com',
        "Subject": subject,
        "TextBody": "plain <i>text</i>",
        "HtmlBody": html,
        "Metadata": {"delivery_id": '"><script>alert(4)</script>'},
    }
    headers = {"X-Postmark-Server-Token": "t"}
    assert sandbox.api("POST", "/email", json=body, headers=headers).status_code == 200


def test_the_index_shows_recent_sms_and_email(sandbox: Sandbox) -> None:
    send_sms(sandbox, "Your parcel is out for delivery")
    send_email(sandbox, "Invoice 42 is ready", "<p>Invoice</p>")

    response = sandbox.api("GET", "/")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>Notify provider sandbox</title>" in response.text
    assert '<meta http-equiv="refresh" content="3">' in response.text
    assert "Your parcel is out for delivery" in response.text
    assert "Invoice 42 is ready" in response.text


def test_the_index_escapes_message_content(sandbox: Sandbox) -> None:
    send_sms(sandbox, "<script>alert(1)</script>")
    send_email(sandbox, "<b>subject</b>", '<script>alert(2)</script><p onclick="x()">hi</p>')

    page = sandbox.api("GET", "/").text

    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;subject&lt;/b&gt;" in page
    # The HTML part is only ever shown inside a sandboxed iframe.
    assert (
        'sandbox="" srcdoc="&lt;script&gt;alert(2)&lt;/script&gt;&lt;p onclick=&quot;x()&quot;'
        in page
    )


def test_one_message_has_its_own_page(sandbox: Sandbox) -> None:
    send_sms(sandbox, "details please")
    [record] = sandbox.messages()

    response = sandbox.api("GET", f"/messages/{record['id']}")

    assert response.status_code == 200
    assert "details please" in response.text
    assert sandbox.api("GET", "/messages/424242").status_code == 404


def test_postmark_email_has_its_own_escaped_section(sandbox: Sandbox) -> None:
    send_email(sandbox, "Sent over SMTP", "<p>smtp</p>")
    send_postmark(sandbox, "<b>Sent via Postmark</b>", "<script>alert(3)</script><p>pm</p>")

    page = sandbox.api("GET", "/").text

    assert "Email (SMTP)" in page
    assert "Email (Postmark)" in page
    assert page.index("Sent over SMTP") < page.index("Email (Postmark)")
    assert page.index("Email (Postmark)") < page.index("&lt;b&gt;Sent via Postmark&lt;/b&gt;")
    assert "<script" not in page
    assert "&quot;&lt;b&gt;grace&lt;/b&gt;&quot;@example.com" in page
    assert "&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in page
    assert "plain &lt;i&gt;text&lt;/i&gt;" in page
    assert 'sandbox="" srcdoc="&lt;script&gt;alert(3)&lt;/script&gt;&lt;p&gt;pm&lt;/p&gt;"' in page


def test_a_postmark_message_page_previews_both_parts(sandbox: Sandbox) -> None:
    send_postmark(sandbox, "details", "<p>rich</p>")
    [record] = sandbox.messages(provider="postmark")

    page = sandbox.api("GET", f"/messages/{record['id']}").text

    assert "<details open><summary>text</summary>" in page
    assert 'srcdoc="&lt;p&gt;rich&lt;/p&gt;"' in page
    assert "<script" not in page
