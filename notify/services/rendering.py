"""Rendering message content with Django's template language, at accept time, so that a
missing variable is the caller's 400 and not a failed delivery later."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Template as DjangoTemplate

from notify.models.templates import Template

# Which parts each channel's content has; `data` (push) is a flat dict of strings.
CHANNEL_PARTS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "text", "html"),
    "sms": ("text",),
    "push": ("title", "body", "data"),
}
_MISSING = "\x00missing:%s\x00"
_MISSING_RE = re.compile("\x00missing:(.*?)\x00")
_TEXT = Engine(autoescape=False, string_if_invalid=_MISSING)
_HTML = Engine(autoescape=True, string_if_invalid=_MISSING)


class RenderError(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@lru_cache(maxsize=2048)
def _compile(source: str, html: bool) -> DjangoTemplate:
    return (_HTML if html else _TEXT).from_string(source)


def template_check_syntax(*, content: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Field errors for parts that do not compile."""
    errors: dict[str, list[str]] = {}
    for channel, parts in content.items():
        for name, source in _sources(parts):
            try:
                _compile(source, html=name == "html")
            except TemplateSyntaxError as exc:
                errors.setdefault(f"{channel}.{name}", []).append(f"Template syntax: {exc}")
    return errors


def content_render(
    *, content: dict[str, dict[str, Any]], context: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Render every part of every channel. Raises RenderError naming each missing variable.
    `{% if x %}` and `{{ x|default:"…" }}` keep a variable optional."""
    ctx = Context(context, autoescape=False)
    html_ctx = Context(context)
    rendered: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for channel, parts in content.items():
        out: dict[str, Any] = {}
        for name, source in _sources(parts):
            template = _compile(source, html=name == "html")
            text = str(template.render(html_ctx if name == "html" else ctx))
            missing = sorted(set(_MISSING_RE.findall(text)))
            if missing:
                errors.setdefault(f"{channel}.{name}", []).append(
                    "Missing template variable(s): " + ", ".join(missing)
                )
            if channel == "sms":
                # \xa0 forces UCS-2 encoding, which halves the characters per SMS segment.
                text = text.replace("\xa0", " ")
            _put(out, name, text.strip() if name != "html" else text)
        rendered[channel] = out
    if errors:
        raise RenderError(errors)
    return rendered


def _sources(parts: dict[str, Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for name, value in parts.items():
        if name == "data" and isinstance(value, dict):
            items.extend((f"data.{k}", str(v)) for k, v in value.items())
        elif isinstance(value, str):
            items.append((name, value))
    return items


def _put(out: dict[str, Any], name: str, text: str) -> None:
    if name.startswith("data."):
        out.setdefault("data", {})[name[5:]] = text
    else:
        out[name] = text


def template_resolve(*, tenant: str, key: str, locale: str = "") -> Template | None:
    """The template for `key` in the most specific locale available: fr-CA, fr, then the
    default (no locale)."""
    candidates = [""]
    if locale:
        base = locale.split("-", maxsplit=1)[0]
        candidates = [locale, base, ""] if base != locale else [locale, ""]
    found = {
        t.locale: t for t in Template.objects.filter(tenant=tenant, key=key, locale__in=candidates)
    }
    return next((found[c] for c in candidates if c in found), None)
