"""Drafting a validated notification request for one recipient: pick the content (template or
inline), render it, check that every requested channel can be served. Used by every accept
path (batch.py, which single creates go through, and broadcast expansion)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels.email import EmailChannel
from notify.models.notifications import Priority
from notify.models.recipients import Recipient
from notify.models.templates import Template
from notify.services.content.rendering import (
    RenderError,
    RenderLimitError,
    content_render,
    template_resolve,
)
from notify.services.recipients.unsubscribe import unsubscribe_headers, unsubscribe_url
from notify.validation.content import rendered_errors

# InvalidRequest.code when rendering ran out of budget (a delivery's error_code in a broadcast).
RENDER_LIMIT = "render_limit"


class InvalidRequest(Exception):
    """Field errors found after the request's shape was validated (e.g. unknown template,
    missing template variable). Nothing has been stored. `code` is RENDER_LIMIT when the
    content could not be rendered within budget, with the `channels` it was for."""

    def __init__(
        self, fields: dict[str, list[str]], *, code: str = "", channels: tuple[str, ...] = ()
    ) -> None:
        super().__init__(fields)
        self.fields, self.code, self.channels = fields, code, channels


@dataclass(frozen=True)
class Draft:
    """A request made ready for one recipient: content chosen and rendered."""

    content: dict[str, dict[str, Any]]
    template_key: str
    template_version: int | None


def recipient_contact(row: Recipient | None) -> dict[str, Any]:
    """The contact points and settings a template may use, from the stored recipient."""
    fields = ("email", "phone", "locale", "timezone")
    return {k: getattr(row, k) for k in fields if getattr(row, k)} if row else {}


def priority_of(data: dict[str, Any]) -> Priority:
    return Priority[data.get("priority", "normal").upper()]


def notification_draft(
    *,
    tenant: str,
    data: dict[str, Any],
    known: dict[str, Any],
    critical: bool,
    resolve: Callable[..., Template | None] = template_resolve,
) -> Draft:
    """Choose the content (a template in the recipient's locale, or inline) and render it
    for the recipient `known` describes. Raises InvalidRequest. A broadcast passes a
    `resolve` that remembers templates across its recipients."""
    channels: list[str] | None = data.get("channels")
    template_key, template_version = "", None
    if data.get("template"):
        template = resolve(tenant=tenant, key=data["template"], locale=known.get("locale", ""))
        if template is None:
            raise InvalidRequest({"template": [f"No template with key '{data['template']}'."]})
        source, template_key, template_version = template.content, template.key, template.version
    else:
        source = data["content"]
    if channels:
        missing = [c for c in channels if c not in source]
        if missing:
            where = "template" if template_key else "content"
            raise InvalidRequest(
                {"channels": [f"No {where} for channel(s): {', '.join(missing)}."]}
            )
        source = {c: source[c] for c in channels}
    link = ""
    if not critical:
        link = unsubscribe_url(
            tenant=tenant, external_id=known["id"], category=data.get("category", "")
        )
    context = {**data.get("data", {}), "recipient": known, "unsubscribe_url": link}
    content = _render(source, context, where="template" if template_key else "content")
    if link and EmailChannel.name in content:
        # RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
        content[EmailChannel.name]["headers"] = unsubscribe_headers(link)
    return Draft(content, template_key, template_version)


def _render(source: dict[str, Any], context: dict[str, Any], *, where: str) -> dict[str, Any]:
    """Render, then hold the result to the rules inline content obeys: data must not be able
    to smuggle a newline into a subject or blow the push size limit. A render over budget is
    the fault of `where` (the template, or the inline content's part) as much as the data."""
    try:
        content = content_render(content=source, context=context)
    except RenderLimitError as exc:
        fields = (
            {f"content.{part}": messages for part, messages in exc.errors.items()}
            if where == "content"
            else {"template": [f"{k}: {m}" for k, v in exc.errors.items() for m in v]}
        )
        raise InvalidRequest(fields, code=RENDER_LIMIT, channels=tuple(source)) from exc
    except RenderError as exc:
        raise InvalidRequest(
            {"data": [f"{k}: {m}" for k, v in exc.errors.items() for m in v]}
        ) from exc
    errors = rendered_errors(content)
    if errors:
        raise InvalidRequest({"data": [f"rendered {k}: {m}" for k, m in errors]})
    return content
