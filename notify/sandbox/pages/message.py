"""One message on its own page: an email with its HTML rendered, its text, headers and source;
an SMS as the phone shows it with Twilio's parameters; a push with its title, body and data.
The delivery id is on every one, with the link that finds the delivery in Notify's admin."""

from __future__ import annotations

import json
import re
from typing import Any

from notify.sandbox.pages.layout import (
    EMAIL_PROVIDERS,
    TITLE,
    delivery_cell,
    e,
    email_parts,
    page,
    provider_badge,
    push_parts,
    sms_sender,
    status_badge,
    when,
)
from notify.sandbox.store import Record

# The HTML part is served by its own route into a sandboxed iframe (no scripts, forms or
# same-origin access) under a policy that loads nothing from anywhere: a captured email can
# neither run code in this page nor phone home (no remote images, no tracking pixels).
# Links are the exception, as in a mail client: a click opens a new tab outside the sandbox,
# so an unsubscribe link works; inside the frame the target's own framing rules refuse it.
FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
LINKS_IN_NEW_TABS = '<base target="_blank">'
_DOCTYPE = re.compile(r"\A\s*<!doctype[^>]*>", re.IGNORECASE)
HTML_CSP = "; ".join(
    [
        f"sandbox {FRAME_SANDBOX}",
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "font-src data:",
        "frame-ancestors 'self'",
    ]
)


def framed_html(html: str) -> str:
    """The HTML part as the frame serves it: its links open in a new tab. The first <base>
    with a target wins, so it goes before the email's own (after a doctype, which must stay
    first or the email renders in quirks mode)."""
    doctype = _DOCTYPE.match(html)
    end = doctype.end() if doctype else 0
    return html[:end] + LINKS_IN_NEW_TABS + html[end:]


def _facts(rows: list[tuple[str, str]]) -> str:
    """A two-column list; values are already HTML."""
    items = "".join(f"<dt>{e(name)}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _json(value: Any) -> str:
    return f"<pre>{e(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))}</pre>"


def _tabs(panels: list[tuple[str, str, str]]) -> str:
    """Tabbed panels (slug, label, HTML). sandbox.js makes them tabs; without it they are
    shown one after the other."""
    buttons = "".join(
        f'<button type="button" role="tab" id="tab-{slug}" aria-controls="panel-{slug}" '
        f'data-tab="{slug}">{e(label)}</button>'
        for slug, label, _ in panels
    )
    sections = "".join(
        f'<section class="panel" role="tabpanel" id="panel-{slug}" aria-labelledby="tab-{slug}">'
        f'<h2 class="panel-title">{e(label)}</h2>{html}</section>'
        for slug, label, html in panels
    )
    return f'<div class="tabbed"><div role="tablist">{buttons}</div>{sections}</div>'


def _common(record: Record) -> list[tuple[str, str]]:
    provider_id = f"<code>{e(record.provider_id)}</code>" if record.provider_id else "—"
    return [
        ("Delivery id", delivery_cell(record)),
        ("Status", status_badge(record)),
        ("Received", f'<time datetime="{e(record.received_at)}">{e(when(record))}</time>'),
        ("Provider message id", provider_id),
    ]


def _email(record: Record) -> tuple[str, str]:
    parts = email_parts(record)
    facts = [
        ("From", e(parts["from"])),
        ("To", e(record.to)),
        ("Subject", e(parts["subject"])),
        *_common(record),
    ]
    panels = []
    if parts["html"] is not None:
        frame = (
            f'<iframe class="email-html" title="HTML part" sandbox="{FRAME_SANDBOX}" '
            f'src="/messages/{record.id}/html"></iframe>'
        )
        panels.append(("html", "HTML", frame))
    if parts["text"] is not None:
        panels.append(("text", "Text", f'<pre class="email-text">{e(parts["text"])}</pre>'))
    header_rows = "".join(
        f"<tr><th>{e(name)}</th><td>{e(value)}</td></tr>" for name, value in parts["headers"]
    )
    headers = f'<table class="headers">{header_rows}</table>' if header_rows else "<p>None.</p>"
    panels.append(("headers", "Headers", headers))
    if record.raw is not None:
        source = record.raw.decode("utf-8", errors="replace")
        raw = (
            f'<p><a href="/messages/{record.id}/raw">Download the source (.eml)</a></p>'
            f'<pre class="raw">{e(source)}</pre>'
        )
    else:
        raw = "<p>What the provider's API received:</p>" + _json(record.body)
    panels.append(("raw", "Raw", raw))
    return _facts(facts), _tabs(panels)


def _sms(record: Record) -> tuple[str, str]:
    body = str(record.body.get("Body", ""))
    facts = [
        ("To", e(record.to)),
        ("From", e(sms_sender(record))),
        ("Length", f"{len(body)} characters"),
        *_common(record),
    ]
    bubble = f'<div class="phone"><p class="bubble">{e(body) or "(empty)"}</p></div>'
    params = "".join(
        f"<tr><th>{e(name)}</th><td>{e(value)}</td></tr>" for name, value in record.body.items()
    )
    panels = [
        ("message", "Message", bubble),
        ("request", "Request", f'<table class="headers">{params}</table>'),
    ]
    return _facts(facts), _tabs(panels)


def _push(record: Record) -> tuple[str, str]:
    parts = push_parts(record)
    facts = [("Token", f'<code class="token">{e(record.to)}</code>'), *_common(record)]
    card = (
        f'<div class="push-card"><p class="push-title">{e(parts["title"]) or "(no title)"}</p>'
        f"<p>{e(parts['body']) or ''}</p></div>"
    )
    data = "".join(
        f"<tr><th>{e(name)}</th><td>{e(value)}</td></tr>" for name, value in parts["data"].items()
    )
    panels = [
        ("notification", "Notification", card),
        ("data", "Data", f'<table class="headers">{data}</table>' if data else "<p>None.</p>"),
        ("raw", "Raw", _json(record.body)),
    ]
    return _facts(facts), _tabs(panels)


def render_message(record: Record) -> str:
    if record.provider in EMAIL_PROVIDERS:
        facts, panels = _email(record)
    elif record.provider == "twilio":
        facts, panels = _sms(record)
    else:
        facts, panels = _push(record)
    heading = record.summary or "(no subject)"
    content = (
        '<p class="back"><a href="/">← all messages</a></p>'
        f"<h1>{e(heading)} {provider_badge(record.provider)}</h1>"
        f'<div class="message" data-id="{record.id}">{facts}{panels}</div>'
    )
    return page(f"{heading} · {TITLE}", content, body_class="message")


def raw_source(record: Record) -> tuple[bytes, str]:
    """The message as received (body, content type): an SMTP message's RFC 5322 source, or
    the JSON of what a provider's API was sent."""
    if record.raw is not None:
        return record.raw, "message/rfc822"
    return json.dumps(record.body, indent=2, ensure_ascii=False).encode(), "application/json"
