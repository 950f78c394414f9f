"""Postmark Email API (`POST /email`) stand-in, as anymail's Postmark backend calls it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from aiohttp import web

from notify.sandbox.faults import FaultRule
from notify.sandbox.httputil import STORE, Reply, respond, retry_after_headers

# Always-on inactive (hard-bounced / suppressed) recipients, like SMTP's @bounce.example.
MAGIC_INACTIVE_DOMAIN = "@inactive.example"
SERVER_TOKEN_HEADER = "X-Postmark-Server-Token"  # noqa: S105 (a header name)
DELIVERY_HEADER = "x-notify-delivery-id"
RECIPIENT_FIELDS = ("To", "Cc", "Bcc")
MISSING_AUTH = (
    "No Account or Server API tokens were supplied in the HTTP headers. Please add a header "
    "for either X-Postmark-Server-Token or X-Postmark-Account-Token."
)
INVALID_AUTH = (
    "The Server Token you provided in the X-Postmark-Server-Token request header was "
    "invalid. Please verify that you are using a valid token."
)
INACTIVE_TAIL = (
    "Inactive recipients are ones that have generated a hard bounce, a spam complaint, "
    "or a manual suppression."
)
SERVICE_UNAVAILABLE_HTML = (
    "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1></body></html>"
)


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Postmark's error body; anymail reads ErrorCode 300/406 on a 422 as refused recipients."""
    return Reply(status, json={"ErrorCode": code, "Message": message}, headers=headers or {})


def addresses(payload: dict[str, Any], field: str) -> list[str]:
    """The addr-specs in one of Postmark's comma-separated address fields."""
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip():
        return []
    return [address for _, address in getaddresses([value]) if address]


def recipients(payload: dict[str, Any]) -> list[str]:
    return [address for field in RECIPIENT_FIELDS for address in addresses(payload, field)]


def inactive_error(found: list[str]) -> Reply:
    # anymail parses the list between "inactive addresses:" and ". Inactive recipients",
    # and Postmark reports those addresses in lower case.
    listed = ", ".join(address.lower() for address in found)
    message = (
        "You tried to send to recipient(s) that have been marked as inactive. "
        f"Found inactive addresses: {listed}. {INACTIVE_TAIL}"
    )
    return error(422, 406, message)


def _fault_reply(rule: FaultRule, payload: dict[str, Any]) -> Reply | None:
    retry = retry_after_headers(rule.retry_after)
    first_to = next(iter(addresses(payload, "To")), "")
    replies: dict[str, Reply | None] = {
        "http_429": error(429, 429, "Rate limit exceeded, too many requests.", retry),
        "http_500": Reply(500, text="Internal Server Error", content_type="text/plain"),
        "http_503": Reply(
            503, text=SERVICE_UNAVAILABLE_HTML, content_type="text/html", headers=retry
        ),
        "drop": None,
        "postmark_406": inactive_error(recipients(payload)),
        "postmark_300": error(422, 300, f"Invalid 'To' address: '{first_to}'."),
        "postmark_10": error(401, 10, INVALID_AUTH),
    }
    return replies[rule.kind]


def _validation_error(payload: Any) -> Reply | None:
    if not isinstance(payload, dict):
        return error(422, 402, "Received invalid JSON input.")
    sender = addresses(payload, "From")
    if not sender:
        return error(422, 300, f"Invalid 'From' address: '{payload.get('From') or ''}'.")
    if not recipients(payload):
        return error(422, 300, "Zero recipients specified")
    for field in RECIPIENT_FIELDS:
        for address in addresses(payload, field):
            if "@" not in address:
                return error(422, 300, f"Invalid '{field}' address: '{address}'.")
    if not payload.get("TextBody") and not payload.get("HtmlBody"):
        return error(422, 300, "Provide either email TextBody or HtmlBody or both.")
    return None


def _success(payload: dict[str, Any]) -> Reply:
    everyone = recipients(payload)
    inactive = [address for address in everyone if address.lower().endswith(MAGIC_INACTIVE_DOMAIN)]
    if inactive and len(inactive) == len(everyone):
        return inactive_error(inactive)
    message = "OK"
    if inactive:
        # Some recipients are active: Postmark sends to those and names the rest.
        listed = ", ".join(address.lower() for address in inactive)
        message = (
            f"Message OK, but will not deliver to these inactive addresses: {listed}. "
            f"{INACTIVE_TAIL}"
        )
    body: dict[str, Any] = {
        "SubmittedAt": datetime.now(UTC).isoformat(timespec="microseconds"),
        "MessageID": str(uuid.uuid4()),
        "ErrorCode": 0,
        "Message": message,
    }
    if isinstance(payload.get("To"), str):
        body = {"To": payload["To"], **body}
    return Reply(200, json=body)


def _delivery_id(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    metadata = payload.get("Metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("delivery_id"), str):
        return str(metadata["delivery_id"])
    headers = payload.get("Headers")
    for header in headers if isinstance(headers, list) else []:
        if (
            isinstance(header, dict)
            and str(header.get("Name", "")).lower() == DELIVERY_HEADER
            and isinstance(header.get("Value"), str)
        ):
            return str(header["Value"])
    return None


async def _read_payload(request: web.Request) -> Any:
    """The JSON body, or the raw text when it is not JSON (answered with ErrorCode 402)."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


async def send_email(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    payload = await _read_payload(request)
    fields = payload if isinstance(payload, dict) else {}
    reply: Reply | None
    delay_ms = 0
    if not request.headers.get(SERVER_TOKEN_HEADER, "").strip():
        reply = error(401, 10, MISSING_AUTH)
    elif (rule := store.faults.take("postmark", recipients(fields))) and rule.kind != "slow":
        reply = _fault_reply(rule, fields)
    else:
        delay_ms = (rule.delay_ms or 0) if rule else 0
        reply = _validation_error(payload) or _success(fields)
    accepted = reply is not None and reply.status == 200
    subject = fields.get("Subject")
    store.add(
        provider="postmark",
        to=next(iter(addresses(fields, "To")), ""),
        delivery_id=_delivery_id(payload),
        summary=(subject if isinstance(subject, str) else "")[:200],
        body=payload if isinstance(payload, dict) else {"raw": payload},
        status=None if reply is None else reply.status,
        accepted=accepted,
        provider_id=reply.json["MessageID"] if reply is not None and accepted else None,
    )
    return await respond(request, reply, delay_ms=delay_ms)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/email", send_email)
