"""The frame every sandbox page shares, and the small renderers its pages use. All text from a
message goes through `e()`: what Notify sent is shown, never interpreted."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from notify.sandbox.store import Record

TITLE = "Notify provider sandbox"
PROVIDER_LABELS = {
    "smtp": "Email · SMTP",
    "postmark": "Email · Postmark",
    "twilio": "SMS · Twilio",
    "fcm": "Push · FCM",
}
EMAIL_PROVIDERS = ("smtp", "postmark")


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, content: str, *, body_class: str = "") -> str:
    """A whole page. Styles and script are files of the sandbox (/assets/…), nothing inline,
    so the pages work under a CSP without 'unsafe-inline'."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title>"
        '<link rel="icon" href="data:,">'  # no favicon request, no 404 in the console
        '<link rel="stylesheet" href="/assets/sandbox.css">'
        '<script src="/assets/sandbox.js" defer></script></head>'
        f'<body class="{e(body_class)}"><header class="top"><a class="brand" href="/">{TITLE}</a>'
        '<span class="muted">what Notify sent, as the providers received it</span></header>'
        f"<main>{content}</main></body></html>"
    )


def when(record: Record) -> str:
    """ISO 8601 with the offset, to the second, as the admin writes dates."""
    moment = datetime.fromisoformat(record.received_at)
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def status_badge(record: Record) -> str:
    if record.status is None:
        label = "dropped"
    elif record.accepted:
        label = f"{record.status} accepted"
    else:
        label = f"{record.status} rejected"
    css = "ok" if record.accepted else "bad"
    return f'<span class="badge {css}">{e(label)}</span>'


def provider_badge(provider: str, *, short: bool = False) -> str:
    label = PROVIDER_LABELS.get(provider, provider)
    if short:  # the list's narrow column: "SMTP", "Twilio"
        label = label.rpartition(" · ")[2]
    return f'<span class="badge provider {e(provider)}">{e(label)}</span>'


def delivery_cell(record: Record) -> str:
    if not record.delivery_id:
        return '<span class="muted">none</span>'
    return f'<code class="delivery-id">{e(record.delivery_id)}</code>'


def email_parts(record: Record) -> dict[str, Any]:
    """Text, HTML, sender and headers of an email record, whichever stand-in received it."""
    body = record.body
    if record.provider == "postmark":
        headers = body.get("Headers")
        pairs = (
            [
                (str(h.get("Name", "")), str(h.get("Value", "")))
                for h in headers
                if isinstance(h, dict)
            ]
            if isinstance(headers, list)
            else []
        )
        for name in ("From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "Tag", "MessageStream"):
            if body.get(name):
                pairs.insert(0, (name, str(body[name])))
        return {
            "from": body.get("From"),
            "subject": body.get("Subject"),
            "text": body.get("TextBody"),
            "html": body.get("HtmlBody"),
            "headers": pairs,
        }
    raw_headers = body.get("headers")
    pairs = []
    if isinstance(raw_headers, dict):
        for name, value in raw_headers.items():
            values = value if isinstance(value, list) else [value]
            pairs.extend((str(name), str(v)) for v in values)
    return {
        "from": body.get("from") or body.get("mail_from"),
        "subject": body.get("subject"),
        "text": body.get("text"),
        "html": body.get("html"),
        "headers": pairs,
    }


def sms_sender(record: Record) -> str:
    return str(record.body.get("From") or record.body.get("MessagingServiceSid") or "")


def push_parts(record: Record) -> dict[str, Any]:
    notification = record.body.get("notification")
    notification = notification if isinstance(notification, dict) else {}
    data = record.body.get("data")
    return {
        "title": notification.get("title") or record.summary,
        "body": notification.get("body"),
        "data": data if isinstance(data, dict) else {},
    }
