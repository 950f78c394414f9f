"""Small renderers shared by the admin pages. Everything that reaches HTML goes through
format_html/format_html_join, so provider error messages and addresses are always escaped."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from channels import CHANNELS
from channels import names as channel_names
from notify.models.notifications import Delivery, DeliveryAttempt

_PHONE = re.compile(r"\+?[0-9]{6,19}")
EMPTY = "—"


def mask_address(value: str, channel: str = "") -> str:
    """The middle of an address hidden, enough left to tell rows apart: `a***@example.com`,
    `+1415***2671`, `abcd…wxyz`. Lists are screen-shared; detail pages show the full value.
    `channel`: the channel the address is for, if known (its registry entry says which
    recipient field such addresses come from)."""
    if not value:
        return ""
    spec = CHANNELS.get(channel)
    kind = spec.addressed_by if spec is not None else ""
    if "@" in value and kind in ("", "email"):
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if kind == "phone" or (not kind and _PHONE.fullmatch(value)):
        if len(value) <= 9:
            return f"{value[:3]}***{value[-2:]}"
        return f"{value[:5]}***{value[-4:]}"
    if len(value) <= 12:
        return f"{value[:2]}…"
    return f"{value[:4]}…{value[-4:]}"


def pretty_json(value: Any) -> SafeString:
    return format_html(
        '<pre class="notify-json">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True),
    )


def channels_summary(deliveries: Iterable[Delivery]) -> str:
    """`email: sent · sms: failed · push: 2 pending, 1 sent`, channels in send order."""
    by_channel: dict[str, Counter[str]] = {}
    for delivery in deliveries:
        by_channel.setdefault(delivery.channel, Counter())[delivery.status] += 1
    known = channel_names()
    order = [c for c in known if c in by_channel] + sorted(set(by_channel) - set(known))
    parts = []
    for channel in order:
        counts = by_channel[channel]
        statuses = ", ".join(
            status if n == 1 else f"{n} {status}" for status, n in sorted(counts.items())
        )
        parts.append(f"{channel}: {statuses}")
    return " · ".join(parts) or EMPTY


def attempt_timeline(attempts: Iterable[DeliveryAttempt]) -> SafeString | str:
    """Each provider call of a delivery as a small table, oldest first. The columns have
    fixed widths and the error message takes what is left and wraps (admin.css), so the
    table fits the page however long a provider's message is."""
    rows = sorted(attempts, key=lambda a: a.number)
    if not rows:
        return "No attempts yet."
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}&nbsp;ms</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        (
            (
                a.number,
                display_datetime(a.started_at),
                a.duration_ms,
                a.provider or EMPTY,
                a.get_outcome_display(),
                a.error_code or EMPTY,
                a.error_message or EMPTY,
            )
            for a in rows
        ),
    )
    return format_html(
        '<table class="attempt-timeline"><thead><tr><th>#</th><th>started</th>'
        "<th>duration</th><th>provider</th><th>outcome</th><th>error code</th>"
        "<th>error message</th></tr></thead><tbody>{}</tbody></table>",
        body,
    )


def display_datetime(value: datetime) -> str:
    """A timestamp as every admin page shows it (DATETIME_FORMAT, in the current zone)."""
    return str(localize(localtime(value)))


def admin_link(model: str, pk: Any, label: str) -> SafeString:
    """A link to the admin change page of a notify `model` (lower-case name)."""
    return format_html(
        '<a href="{}">{}</a>', reverse(f"admin:notify_{model}_change", args=[pk]), label
    )


def short_id(value: Any) -> SafeString:
    """The last eight characters of a UUID, the whole one on hover: two full UUID columns
    alone took a third of a 1,280 px list. The end, because ids are UUIDv7 and start with
    the time (rows made in the same minute share their first eight). The search box finds a
    row by its full id."""
    text = str(value)
    return format_html('<span class="notify-id" title="{}">…{}</span>', text, text[-8:])
