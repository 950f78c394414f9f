"""The sandbox's pages over HTTP: the list with search and filters, the feed the page polls,
each message's view, its HTML part and source, and clear all. (tests/browser drives the same
pages in Chromium.)"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage

import pytest

from .helpers import ACCOUNT_SID, AUTH_TOKEN, Sandbox

SMS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
FCM_PATH = "/v1/projects/notify-test/messages:send"
DELIVERY = "0190f6a2-7c1e-7b4a-9d0e-5f6a7b8c9d0e"


def send_sms(sandbox: Sandbox, body: str, delivery: str = "") -> None:
    form = {"To": "+15550000001", "From": "+15017122661", "Body": body}
    if delivery:
        form["StatusCallback"] = f"https://notify.test/webhooks/twilio/?delivery={delivery}"
    response = sandbox.api("POST", SMS_PATH, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert response.status_code == 201


def send_email(
    sandbox: Sandbox, subject: str, html: str, to: str = "ada@example.com", delivery: str = ""
) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "noreply@notify.test"
    message["To"] = to
    if delivery:
        message["X-Notify-Delivery-Id"] = delivery
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


def send_push(sandbox: Sandbox, title: str, delivery: str) -> None:
    message = {
        "token": "device-token-" + "x" * 40,
        "notification": {"title": title, "body": "Tap to see it"},
        "data": {"notify_delivery_id": delivery, "kind": "parcel"},
    }
    headers = {"Authorization": "Bearer sandbox"}
    response = sandbox.api("POST", FCM_PATH, json={"message": message}, headers=headers)
    assert response.status_code == 200, response.text


def row_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-id="(\d+)"', page)]


def test_the_list_shows_every_provider_newest_first_with_delivery_ids(sandbox: Sandbox) -> None:
    send_sms(sandbox, "Your parcel is out for delivery", delivery=DELIVERY)
    send_email(sandbox, "Invoice 42 is ready", "<p>Invoice</p>", delivery="email-delivery-1")
    send_push(sandbox, "Parcel arriving", delivery="push-delivery-1")

    response = sandbox.api("GET", "/")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "<title>Notify provider sandbox</title>" in page
    assert 'http-equiv="refresh"' not in page  # live updates come from /feed, in place
    [sms, email, push] = sorted(m["id"] for m in sandbox.messages())
    assert row_ids(page) == [push, email, sms]
    for delivery in (DELIVERY, "email-delivery-1", "push-delivery-1"):
        assert f'<code class="delivery-id">{delivery}</code>' in page
    assert "Your parcel is out for delivery" in page and "Parcel arriving — Tap to see it" in page
    # Styles and script are files, so a CSP without 'unsafe-inline' holds.
    assert "<style" not in page and " style=" not in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/assets/sandbox.js" defer>']
    assert (
        sandbox.api("GET", "/assets/sandbox.js")
        .headers["Content-Type"]
        .startswith("text/javascript")
    )
    assert "text/css" in sandbox.api("GET", "/assets/sandbox.css").headers["Content-Type"]
    assert sandbox.api("GET", "/assets/../store.py").status_code == 404


def test_search_and_filters_narrow_the_list(sandbox: Sandbox) -> None:
    send_sms(sandbox, "Your code is 424242", delivery=DELIVERY)
    send_email(sandbox, "Welcome aboard", "<p>Hello Ada</p>", to="ada@example.com")
    sandbox.add_fault(provider="smtp", kind="smtp_554", times=1)
    with pytest.raises(smtplib.SMTPDataError):
        send_email(sandbox, "Welcome aboard", "<p>Hello</p>", to="grace@example.com")
    [sms, email, bounced] = sorted(m["id"] for m in sandbox.messages())

    def shown(**params: str) -> list[int]:
        response = sandbox.api("GET", "/", params=params)
        assert response.status_code == 200
        return row_ids(response.text)

    assert shown(q="424242") == [sms]
    assert shown(q=DELIVERY[-12:]) == [sms]  # part of a delivery id
    assert shown(q="hello ADA") == [email]  # every word, any case, in the HTML body too
    assert shown(provider="smtp") == [bounced, email]
    assert shown(provider="twilio", q="welcome") == []
    assert shown(status="rejected") == [bounced]
    assert shown(provider="smtp", status="accepted") == [email]
    assert shown(provider="nonsense") == [bounced, email, sms]  # ignored, not an error
    assert "No messages match these filters." in sandbox.api("GET", "/?q=zzz").text


def test_the_feed_returns_what_is_new_and_says_when_the_list_was_cleared(
    sandbox: Sandbox,
) -> None:
    send_sms(sandbox, "first")
    first = sandbox.api("GET", "/feed").json()
    send_sms(sandbox, "second")
    send_email(sandbox, "third", "<p>3</p>")

    newer = sandbox.api(
        "GET", "/feed", params={"after": first["newest"], "epoch": first["epoch"]}
    ).json()
    sms_only = sandbox.api(
        "GET",
        "/feed",
        params={"after": first["newest"], "epoch": first["epoch"], "provider": "twilio"},
    ).json()

    assert first["total"] == 1 and first["counts"]["twilio"] == 1
    assert newer["reset"] is False and newer["total"] == 3
    assert ["third" in newer["rows"][0], "second" in newer["rows"][1]] == [True, True]
    assert len(newer["rows"]) == 2
    assert sms_only["total"] == 2 and len(sms_only["rows"]) == 1
    assert "second" in sms_only["rows"][0]

    assert sandbox.api("DELETE", "/_sandbox/messages").status_code == 200
    send_sms(sandbox, "after the clear")
    cleared = sandbox.api(
        "GET", "/feed", params={"after": newer["newest"], "epoch": newer["epoch"]}
    ).json()
    assert cleared["reset"] is True and cleared["total"] == 1
    assert len(cleared["rows"]) == 1 and "after the clear" in cleared["rows"][0]


def test_an_email_has_its_html_text_headers_and_source(sandbox: Sandbox) -> None:
    send_email(
        sandbox, "Invoice 42", '<p style="color:red">Total <b>€12</b></p>', delivery=DELIVERY
    )
    [record] = sandbox.messages()

    page = sandbox.api("GET", f"/messages/{record['id']}").text
    html = sandbox.api("GET", f"/messages/{record['id']}/html")
    raw = sandbox.api("GET", f"/messages/{record['id']}/raw")

    assert f'<code class="delivery-id">{DELIVERY}</code>' in page
    frame = 'sandbox="allow-popups allow-popups-to-escape-sandbox"'
    assert f'{frame} src="/messages/{record["id"]}/html"' in page
    assert '<pre class="email-text">plain\r\n</pre>' in page
    assert "<tr><th>X-Notify-Delivery-Id</th><td>" + DELIVERY + "</td></tr>" in page
    assert "<tr><th>Subject</th><td>Invoice 42</td></tr>" in page
    assert "Content-Type: multipart/alternative;" in page  # the source, in the Raw tab
    # The HTML part on its own, under a policy that lets it style itself and nothing else.
    assert html.status_code == 200
    # Its links open in a new tab (tests/browser/test_sandbox_pages.py clicks one).
    assert html.text.strip() == '<base target="_blank"><p style="color:red">Total <b>€12</b></p>'
    policy = html.headers["Content-Security-Policy"]
    assert policy.startswith(
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
        "style-src 'unsafe-inline'"
    )
    assert html.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'self'" in policy
    assert raw.headers["Content-Type"] == "message/rfc822"
    assert f'filename="message-{record["id"]}.eml"' in raw.headers["Content-Disposition"]
    assert b"X-Notify-Delivery-Id: " + DELIVERY.encode() in raw.content
    # The control API's JSON is unchanged: the source is for the pages only.
    assert "raw" not in record and record["body"]["html"].startswith("<p")


def test_an_email_with_a_doctype_keeps_it_first_before_the_link_target(sandbox: Sandbox) -> None:
    # A doctype anywhere but first would switch the email to quirks mode.
    send_email(sandbox, "Doctype", '<!DOCTYPE html>\n<html><body><a href="x">x</a></body></html>')
    [record] = sandbox.messages()

    html = sandbox.api("GET", f"/messages/{record['id']}/html").text

    assert html.startswith('<!DOCTYPE html><base target="_blank">')
    assert html.count("<!DOCTYPE") == 1


def test_an_sms_page_shows_the_text_the_numbers_and_the_delivery_id(sandbox: Sandbox) -> None:
    send_sms(sandbox, "Your code is 424242", delivery=DELIVERY)
    [record] = sandbox.messages()

    page = sandbox.api("GET", f"/messages/{record['id']}").text

    assert '<p class="bubble">Your code is 424242</p>' in page
    assert f'<code class="delivery-id">{DELIVERY}</code>' in page
    assert "<dd>+15550000001</dd>" in page and "<dd>+15017122661</dd>" in page
    assert f"<code>{record['provider_id']}</code>" in page  # the Twilio SM… sid
    assert sandbox.api("GET", f"/messages/{record['id']}/html").status_code == 404
    assert sandbox.api("GET", "/messages/424242").status_code == 404
    assert sandbox.api("GET", "/messages/nope").status_code == 404


def test_a_push_page_shows_title_body_and_data(sandbox: Sandbox) -> None:
    send_push(sandbox, "Parcel arriving", delivery=DELIVERY)
    [record] = sandbox.messages()

    page = sandbox.api("GET", f"/messages/{record['id']}").text

    assert '<p class="push-title">Parcel arriving</p><p>Tap to see it</p>' in page
    assert "<tr><th>kind</th><td>parcel</td></tr>" in page
    assert f'<code class="delivery-id">{DELIVERY}</code>' in page


def test_clear_all_empties_the_list_but_not_from_another_site(sandbox: Sandbox) -> None:
    send_sms(sandbox, "keep me")

    refused = sandbox.api("POST", "/clear", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert len(sandbox.messages()) == 1

    cleared = sandbox.api("POST", "/clear", headers={"Origin": sandbox.base_url})
    assert cleared.status_code == 200 and cleared.url == sandbox.base_url + "/"
    assert sandbox.messages() == []
    assert row_ids(cleared.text) == []


def test_message_content_is_escaped_everywhere(sandbox: Sandbox) -> None:
    send_sms(sandbox, "<script>alert(1)</script>")
    send_email(sandbox, "<b>subject</b>", '<script>alert(2)</script><p onclick="x()">hi</p>')
    send_postmark(sandbox, "<b>Sent via Postmark</b>", "<script>alert(3)</script><p>pm</p>")
    pages = [sandbox.api("GET", "/").text, sandbox.api("GET", "/?q=script").text]
    pages += [sandbox.api("GET", f"/messages/{m['id']}").text for m in sandbox.messages()]
    pages += sandbox.api("GET", "/feed").json()["rows"]

    for page in pages:
        assert "<script>" not in page and "<b>" not in page and "<p onclick" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "&lt;b&gt;subject&lt;/b&gt;" in pages[0]
    assert "&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in pages[0]  # a delivery id
    assert "&quot;&lt;b&gt;grace&lt;/b&gt;&quot;@example.com" in pages[0]
