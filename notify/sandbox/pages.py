"""The page a person looks at: counters, active faults and the newest messages."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from aiohttp import web

from notify.sandbox.httputil import PORTS, STORE, Ports
from notify.sandbox.store import PROVIDERS, Record, Store

SECTION_LIMIT = 100
EMAIL_HEADINGS = ["time", "to", "subject", "delivery", "status", "content"]
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#222}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.5rem 0 .4rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .4rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}pre{white-space:pre-wrap;margin:.2rem 0;
max-height:20rem;overflow:auto;background:#fafafa;padding:.4rem}.muted{color:#777}
.ok{color:#11743b}.bad{color:#b3261e;font-weight:600}iframe{width:100%;height:18rem;
border:1px solid #ccc;background:#fff}code{font-size:12px}a{color:#1a56b0}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _page(title: str, content: str, *, refresh: bool = False) -> str:
    meta = '<meta http-equiv="refresh" content="3">' if refresh else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>{content}</body></html>"
    )


def _status(record: Record) -> str:
    label = "dropped" if record.status is None else str(record.status)
    css = "ok" if record.accepted else "bad"
    return f'<span class="{css}">{_e(label)}</span>'


def _link(record: Record, text: str) -> str:
    return f'<a href="/messages/{record.id}">{_e(text) or "(empty)"}</a>'


def _table(headings: list[str], rows: list[str]) -> str:
    if not rows:
        return '<p class="muted">Nothing received yet.</p>'
    head = "".join(f"<th>{_e(heading)}</th>" for heading in headings)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def email_preview(body: dict[str, Any]) -> str:
    # srcdoc is escaped once for the attribute; the empty sandbox attribute blocks
    # scripts, forms and navigation, so a hostile template cannot touch this page.
    parts = []
    if body.get("text") is not None:
        parts.append(f"<details><summary>text</summary><pre>{_e(body['text'])}</pre></details>")
    if body.get("html") is not None:
        frame = f'<iframe sandbox="" srcdoc="{_e(body["html"])}"></iframe>'
        parts.append(f"<details><summary>HTML</summary>{frame}</details>")
    return "".join(parts)


def email_parts(record: Record) -> dict[str, Any]:
    """Text and HTML of an email record, whichever stand-in received it."""
    if record.provider == "postmark":
        return {"text": record.body.get("TextBody"), "html": record.body.get("HtmlBody")}
    return record.body


def _email_row(record: Record) -> str:
    cells = [
        _e(record.received_at[11:19]),
        _e(record.to),
        _link(record, record.summary),
        _e(record.delivery_id),
        _status(record),
        email_preview(email_parts(record)),
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _sms_row(record: Record) -> str:
    body = record.body
    sender = body.get("From") or body.get("MessagingServiceSid")
    cells = [
        _e(record.received_at[11:19]),
        _e(record.to),
        _e(sender),
        _link(record, str(body.get("Body", ""))),
        _e(record.delivery_id),
        _status(record),
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _push_row(record: Record) -> str:
    notification = record.body.get("notification")
    text = notification.get("body") if isinstance(notification, dict) else None
    data = record.body.get("data")
    token = record.to if len(record.to) <= 32 else record.to[:32] + "…"
    cells = [
        _e(record.received_at[11:19]),
        f'<code title="{_e(record.to)}">{_e(token)}</code>',
        _link(record, record.summary),
        _e(text),
        f"<pre>{_e(json.dumps(data, indent=1))}</pre>" if data else "",
        _status(record),
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _summary(store: Store, ports: Ports) -> str:
    stats = store.stats()
    rows = [
        f"<tr><td>{_e(p)}</td><td>{stats[p]['requests']}</td><td>{stats[p]['accepted']}</td></tr>"
        for p in PROVIDERS
    ]
    faults = [
        f"<li><code>{_e(json.dumps(rule.to_json()))}</code></li>" for rule in store.faults.rules()
    ]
    fault_list = f"<ul>{''.join(faults)}</ul>" if faults else '<p class="muted">No fault rules.</p>'
    return (
        f"<p>HTTP port {_e(ports.http_port)}, SMTP port {_e(ports.smtp_port)}, "
        f"latency <b>{store.latency_ms} ms</b>.</p>"
        "<table><tr><th>provider</th><th>requests</th><th>accepted</th></tr>"
        f"{''.join(rows)}</table><h2>Fault rules</h2>{fault_list}"
    )


def render_index(store: Store, ports: Ports, *, refresh: bool = True) -> str:
    sections = [
        ("Email (SMTP)", "smtp", EMAIL_HEADINGS, _email_row),
        ("Email (Postmark)", "postmark", EMAIL_HEADINGS, _email_row),
        ("SMS", "twilio", ["time", "to", "from", "body", "delivery", "status"], _sms_row),
        ("Push", "fcm", ["time", "token", "title", "body", "data", "status"], _push_row),
    ]
    parts = []
    for title, provider, headings, row in sections:
        count, records = store.query(provider=provider, limit=SECTION_LIMIT)
        rows = [row(record) for record in records]
        parts.append(f"<h2>{title} <span class='muted'>({count})</span></h2>")
        parts.append(_table(headings, rows))
    toggle = '<a href="/?refresh=0">pause refresh</a>' if refresh else '<a href="/">resume</a>'
    header = f"<h1>Notify provider sandbox</h1><p class='muted'>{toggle}</p>"
    return _page(
        "Notify provider sandbox", header + _summary(store, ports) + "".join(parts), refresh=refresh
    )


def render_message(record: Record) -> str:
    fields = ["id", "provider", "received_at", "to", "delivery_id", "provider_id", "summary"]
    rows = [f"<tr><th>{name}</th><td>{_e(getattr(record, name))}</td></tr>" for name in fields]
    rows.append(f"<tr><th>status</th><td>{_status(record)}</td></tr>")
    preview = ""
    if record.provider in ("smtp", "postmark"):
        preview = email_preview(email_parts(record)).replace("<details>", "<details open>")
    body = json.dumps(record.body, indent=2, ensure_ascii=False)
    content = (
        f'<p><a href="/">← all messages</a></p><h1>Message {record.id}</h1>'
        f"<table>{''.join(rows)}</table>{preview}<h2>Body</h2><pre>{_e(body)}</pre>"
    )
    return _page(f"Message {record.id} · Notify provider sandbox", content)


async def index(request: web.Request) -> web.Response:
    refresh = request.query.get("refresh") != "0"
    text = render_index(request.app[STORE], request.app[PORTS], refresh=refresh)
    return web.Response(text=text, content_type="text/html")


async def message(request: web.Request) -> web.Response:
    try:
        record = request.app[STORE].get(int(request.match_info["id"]))
    except ValueError:
        record = None
    if record is None:
        raise web.HTTPNotFound(
            text=_page("Not found", "<h1>No such message</h1>"), content_type="text/html"
        )
    return web.Response(text=render_message(record), content_type="text/html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/messages/{id}", message)
