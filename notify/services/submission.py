"""From a validated API request to an accepted notification: pick the content (template or
inline), render it for this recipient, check that every requested channel can be served."""

from __future__ import annotations

import json
from typing import Any

from notify.models.apikeys import ApiKey
from notify.models.notifications import Priority
from notify.models.recipients import Recipient
from notify.services.notifications import Accepted, notification_create
from notify.services.rendering import RenderError, content_render, template_resolve

PUSH_MAX_BYTES = 4096


class InvalidRequest(Exception):
    """Field errors found after the request's shape was validated (e.g. unknown template,
    missing template variable). Nothing has been stored."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


def notification_submit(
    *, api_key: ApiKey, data: dict[str, Any], idempotency_key: str | None, fingerprint: str
) -> Accepted:
    recipient: dict[str, Any] = data["recipient"]
    channels: list[str] | None = data.get("channels")
    template_key, template_version = "", None
    if data.get("template"):
        locale = recipient.get("locale") or _stored_locale(api_key.tenant, recipient["id"])
        template = template_resolve(tenant=api_key.tenant, key=data["template"], locale=locale)
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
    context = {
        **data.get("data", {}),
        "recipient": {k: v for k, v in recipient.items() if k != "push_tokens"},
    }
    try:
        content = content_render(content=source, context=context)
    except RenderError as exc:
        raise InvalidRequest({f"data ({k})": v for k, v in exc.errors.items()}) from exc
    _check_push_size(content)
    return notification_create(
        api_key=api_key,
        recipient=recipient,
        content=content,
        channels=channels,
        priority=Priority[data.get("priority", "normal").upper()],
        category=data.get("category", ""),
        send_at=data.get("send_at"),
        template_key=template_key,
        template_version=template_version,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )


def _stored_locale(tenant: str, external_id: str) -> str:
    found = (
        Recipient.objects.filter(tenant=tenant, external_id=external_id)
        .values_list("locale", flat=True)
        .first()
    )
    return found or ""


def _check_push_size(content: dict[str, dict[str, Any]]) -> None:
    push = content.get("push")
    if push and len(json.dumps(push, ensure_ascii=False).encode()) > PUSH_MAX_BYTES:
        raise InvalidRequest(
            {"content.push": [f"Rendered push payload exceeds {PUSH_MAX_BYTES} bytes."]}
        )
