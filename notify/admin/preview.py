"""The template preview on the change page: each part rendered on its own with the operator's
sample data, so one missing variable does not hide the other parts' output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.template import TemplateSyntaxError

from channels import content_parts
from channels.sms import SmsChannel
from notify.admin.sms import SmsLength, sms_length
from notify.services.content.rendering import RenderError, content_render


@dataclass(frozen=True)
class PartPreview:
    name: str  # "email.subject", "push.data", …
    output: str
    errors: list[str]
    sms: SmsLength | None = None


@dataclass(frozen=True)
class TemplatePreview:
    data_json: str  # echoed back into the sample-data box
    data_error: str
    parts: list[PartPreview]


def template_preview(*, content: dict[str, Any], raw_data: str) -> TemplatePreview:
    data, data_error = _parse_data(raw_data)
    known = content_parts()
    parts = [
        _render_part(channel, part, content[channel][part], data)
        for channel in _in_order(content, known)
        if isinstance(content[channel], dict)
        for part in _in_order(content[channel], known.get(channel, ()))
    ]
    return TemplatePreview(data_json=raw_data.strip() or "{}", data_error=data_error, parts=parts)


def _in_order(items: dict[str, Any], known: Iterable[str]) -> list[str]:
    """Keys in the usual reading order (email before sms, subject before text); Postgres
    returns JSON keys sorted by length."""
    order = [k for k in known if k in items]
    return order + sorted(k for k in items if k not in order)


def _parse_data(raw: str) -> tuple[dict[str, Any], str]:
    if not raw.strip():
        return {}, ""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return {}, f"Sample data is not valid JSON ({exc}); rendering with no data."
    if not isinstance(data, dict):
        return {}, "Sample data must be a JSON object; rendering with no data."
    return data, ""


def _render_part(channel: str, part: str, source: Any, data: dict[str, Any]) -> PartPreview:
    name = f"{channel}.{part}"
    try:
        rendered = content_render(content={channel: {part: source}}, context=data)
    except RenderError as exc:
        return PartPreview(name, "", [m for msgs in exc.errors.values() for m in msgs])
    except TemplateSyntaxError as exc:  # saved before syntax was checked
        return PartPreview(name, "", [f"Template syntax: {exc}"])
    value = rendered[channel].get(part, "")
    if not isinstance(value, str):
        return PartPreview(name, json.dumps(value, indent=2, ensure_ascii=False), [])
    sms = sms_length(value) if channel == SmsChannel.name else None
    return PartPreview(name, value, [], sms)
