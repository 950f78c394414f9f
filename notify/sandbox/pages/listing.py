"""The message list: every provider in one table, newest first, with a search box and filters
per provider and outcome. The page polls /feed with the same filters and adds new rows in
place (sandbox.js); the filters are ordinary query parameters, so a view can be bookmarked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from notify.sandbox.httputil import Ports
from notify.sandbox.pages.layout import (
    PROVIDER_LABELS,
    TITLE,
    delivery_cell,
    e,
    page,
    provider_badge,
    push_parts,
    status_badge,
    when,
)
from notify.sandbox.store import PROVIDERS, Record, Store

LIST_LIMIT = 200
OUTCOMES = {"accepted": True, "rejected": False}
HEADINGS = ["received", "provider", "to", "subject / text", "delivery id", "status"]


@dataclass(frozen=True)
class Filters:
    provider: str | None = None
    search: str = ""
    outcome: str | None = None

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        # Unknown values mean "no filter" rather than an error: this is a page a person
        # types into, and an empty list would hide that the value was ignored.
        provider = query.get("provider") or None
        outcome = query.get("status") or None
        return cls(
            provider=provider if provider in PROVIDERS else None,
            search=str(query.get("q", "")).strip()[:200],
            outcome=outcome if outcome in OUTCOMES else None,
        )

    def query(self, store: Store, *, after: int = 0) -> tuple[int, list[Record]]:
        return store.query(
            provider=self.provider,
            search=self.search or None,
            accepted=OUTCOMES.get(self.outcome or ""),
            after=after,
            limit=LIST_LIMIT,
        )

    def url(self, path: str = "/", **changes: str | None) -> str:
        params = {"provider": self.provider, "q": self.search, "status": self.outcome}
        params.update(changes)
        kept = {name: value for name, value in params.items() if value}
        return f"{path}?{urlencode(kept)}" if kept else path


def _text(record: Record) -> str:
    if record.provider == "fcm":
        parts = push_parts(record)
        return " — ".join(str(p) for p in (parts["title"], parts["body"]) if p)
    return record.summary


def _short(value: str, size: int = 40) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


def render_row(record: Record) -> str:
    href = f"/messages/{record.id}"
    text = _text(record) or "(empty)"
    cells = [
        f'<td class="when">{e(when(record))}</td>',
        f"<td>{provider_badge(record.provider, short=True)}</td>",
        f'<td class="addr" title="{e(record.to)}">{e(_short(record.to))}</td>',
        f'<td class="subject"><a href="{href}">{e(_short(text, 90))}</a></td>',
        f"<td>{delivery_cell(record)}</td>",
        f"<td>{status_badge(record)}</td>",
    ]
    return f'<tr data-id="{record.id}" data-href="{href}">{"".join(cells)}</tr>'


def _tabs(store: Store, filters: Filters) -> str:
    stats = store.stats()
    links = [
        f'<a href="{e(filters.url(provider=None))}"'
        f"{' aria-current=page' if filters.provider is None else ''}>All</a>"
    ]
    for provider in PROVIDERS:
        current = " aria-current=page" if filters.provider == provider else ""
        count = stats[provider]["requests"]
        links.append(
            f'<a href="{e(filters.url(provider=provider))}"{current}>'
            f'{e(PROVIDER_LABELS[provider])} <span class="count" data-provider="{provider}">'
            f"{count}</span></a>"
        )
    return f'<nav class="tabs" aria-label="Provider">{"".join(links)}</nav>'


def _search_form(filters: Filters) -> str:
    options = ['<option value="">any status</option>']
    for outcome in OUTCOMES:
        selected = " selected" if filters.outcome == outcome else ""
        options.append(f'<option value="{outcome}"{selected}>{outcome}</option>')
    provider = (
        f'<input type="hidden" name="provider" value="{e(filters.provider)}">'
        if filters.provider
        else ""
    )
    return (
        '<form class="search" method="get" action="/" role="search">'
        f"{provider}"
        '<input type="search" name="q" placeholder="Search address, subject, text, delivery id…" '
        f'aria-label="Search" value="{e(filters.search)}" autocomplete="off">'
        f'<select name="status" aria-label="Status">{"".join(options)}</select>'
        '<button type="submit">Search</button></form>'
        '<form class="clear" method="post" action="/clear">'
        '<button type="submit" class="danger">Clear all messages</button></form>'
    )


def _summary(store: Store, ports: Ports) -> str:
    rules = store.faults.rules()
    faults = (
        "".join(f"<li><code>{e(json.dumps(rule.to_json()))}</code></li>" for rule in rules)
        if rules
        else '<li class="muted">none</li>'
    )
    return (
        '<details class="settings"><summary>Ports, latency and fault rules</summary>'
        f"<p>HTTP port {e(ports.http_port)}, SMTP port {e(ports.smtp_port)}, "
        f"latency <strong>{store.latency_ms} ms</strong>. Fault rules:</p>"
        f"<ul>{faults}</ul></details>"
    )


def render_index(store: Store, ports: Ports, filters: Filters) -> str:
    total, records = filters.query(store)
    rows = "".join(render_row(record) for record in records)
    head = "".join(f"<th>{heading}</th>" for heading in HEADINGS)
    shown = f"{total} message{'' if total == 1 else 's'}"
    if total > len(records):
        shown += f", newest {len(records)} shown"
    content = (
        _tabs(store, filters)
        + f'<div class="toolbar">{_search_form(filters)}</div>'
        + f'<p class="muted"><span id="total">{shown}</span>'
        + '<span id="live" class="live" hidden> · updating live</span></p>'
        + f'<table class="messages"><thead><tr>{head}</tr></thead>'
        + f'<tbody id="rows" data-feed="{e(filters.url("/feed"))}" '
        + f'data-newest="{store.newest_id()}" data-epoch="{store.epoch}">{rows}</tbody></table>'
        + f'<p id="empty" class="empty"{" hidden" if records else ""}>{e(_empty_text(filters))}</p>'
        + _summary(store, ports)
    )
    title = f"{PROVIDER_LABELS[filters.provider]} · {TITLE}" if filters.provider else TITLE
    return page(title, content, body_class="list")


def _empty_text(filters: Filters) -> str:
    if filters != Filters():
        return "No messages match these filters."
    return "No messages yet: what Notify sends through the sandbox appears here as it arrives."


def render_feed(store: Store, filters: Filters, *, after: int, epoch: int) -> dict[str, Any]:
    """What /feed answers: rows newer than `after`, newest first, and the figures the page
    shows. `reset` says the page's rows are stale (the messages were cleared since `epoch`):
    `rows` then holds the whole current list, to replace them with."""
    reset = epoch != store.epoch
    total, _ = filters.query(store)
    _, records = filters.query(store, after=0 if reset else after)
    stats = store.stats()
    return {
        "newest": store.newest_id(),
        "epoch": store.epoch,
        "total": total,
        "reset": reset,
        "rows": [render_row(record) for record in records],
        "counts": {provider: stats[provider]["requests"] for provider in PROVIDERS},
    }
