"""Twilio Messages API (2010-04-01) stand-in."""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aiohttp import web

from notify.sandbox.faults import FaultRule
from notify.sandbox.httputil import STORE, Reply, respond, retry_after_headers

if TYPE_CHECKING:
    from multidict import MultiDictProxy

BASE = "/2010-04-01/Accounts/{account_sid}"
# Always-on invalid number, in the spirit of Twilio's own test credentials.
MAGIC_INVALID_TO = "+15005550001"
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
SERVICE_UNAVAILABLE_HTML = (
    "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1></body></html>"
)


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Twilio's legacy error body, which TwilioRestException parses into .code/.msg."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply(status, json=body, headers=headers or {})


AUTH_ERROR = error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})


def num_segments(body: str) -> int:
    # A single non-GSM character switches the whole SMS to UCS-2 and cuts a segment
    # from 160 to 70 characters; multipart segments lose room to the UDH header.
    if all(char in GSM7 or char in GSM7_EXTENDED for char in body):
        units = sum(2 if char in GSM7_EXTENDED else 1 for char in body)
        return 1 if units <= 160 else math.ceil(units / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def _fields(form: MultiDictProxy[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in dict.fromkeys(form.keys()):
        values = [str(value) for value in form.getall(key)]
        fields[key] = values[0] if len(values) == 1 else values
    return fields


def _one(fields: dict[str, Any], key: str) -> str:
    value = fields.get(key, "")
    return str(value[0] if isinstance(value, list) else value)


def _delivery_id(fields: dict[str, Any]) -> str | None:
    query = parse_qs(urlsplit(_one(fields, "StatusCallback")).query)
    return query.get("delivery", [None])[0]


def _authorized(request: web.Request, account_sid: str) -> bool:
    # Parsed by hand: aiohttp 3.14 deprecates BasicAuth and warns on every decode.
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        credentials = base64.b64decode(encoded.strip(), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return False
    login, _, _ = credentials.partition(":")
    return login == account_sid


def _fault_reply(rule: FaultRule, to: str) -> Reply | None:
    retry = retry_after_headers(rule.retry_after)
    replies: dict[str, Reply | None] = {
        "http_429": error(429, 20429, "Too Many Requests", retry),
        # Twilio's edge answers 500 with no body; the SDK then falls back to code=status.
        "http_500": Reply(500),
        "http_503": Reply(
            503, text=SERVICE_UNAVAILABLE_HTML, content_type="text/html", headers=retry
        ),
        "drop": None,
        "twilio_21211": error(400, 21211, f"The 'To' number {to} is not a valid phone number."),
        "twilio_21610": error(400, 21610, "Attempt to send to unsubscribed recipient"),
        "twilio_21614": error(400, 21614, f"'To' number {to} is not a valid mobile number"),
        "twilio_20003": AUTH_ERROR,
    }
    return replies[rule.kind]


def _validation_error(fields: dict[str, Any]) -> Reply | None:
    if not _one(fields, "To"):
        return error(400, 21604, "A 'To' phone number is required.")
    if not _one(fields, "From") and not _one(fields, "MessagingServiceSid"):
        return error(400, 21603, "A 'From' phone number is required.")
    if not _one(fields, "Body") and "MediaUrl" not in fields:
        return error(400, 21602, "Message body is required.")
    if _one(fields, "To") == MAGIC_INVALID_TO:
        return error(400, 21211, f"The 'To' number {MAGIC_INVALID_TO} is not a valid phone number.")
    return None


def message_resource(account_sid: str, fields: dict[str, Any]) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    now = format_datetime(datetime.now(UTC))
    uri = f"{BASE.format(account_sid=account_sid)}/Messages/{sid}.json"
    body, sender = _one(fields, "Body"), _one(fields, "From") or None
    service = _one(fields, "MessagingServiceSid") or None
    media = fields.get("MediaUrl", [])
    return {
        "sid": sid,
        "account_sid": account_sid,
        # Twilio reports "accepted" while a Messaging Service still has to pick a sender.
        "status": "queued" if sender else "accepted",
        "direction": "outbound-api",
        "to": _one(fields, "To"),
        "from": sender,
        "body": body,
        "messaging_service_sid": service,
        "num_segments": str(num_segments(body)),
        "num_media": str(len(media) if isinstance(media, list) else 1),
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
        "api_version": "2010-04-01",
        "date_created": now,
        "date_updated": now,
        "date_sent": None,
        "uri": uri,
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
    }


async def create_message(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    account_sid = request.match_info["account_sid"]
    fields = _fields(await request.post())
    to = _one(fields, "To")
    reply: Reply | None
    delay_ms = 0
    if not _authorized(request, account_sid):
        reply = AUTH_ERROR
    elif (rule := store.faults.take("twilio", [to])) and rule.kind != "slow":
        reply = _fault_reply(rule, to)
    else:
        delay_ms = (rule.delay_ms or 0) if rule else 0
        reply = _validation_error(fields)
        if reply is None:
            resource = message_resource(account_sid, fields)
            store.put_twilio_message(resource)
            reply = Reply(201, json=resource)
    accepted = reply is not None and reply.status == 201
    store.add(
        provider="twilio",
        to=to,
        delivery_id=_delivery_id(fields),
        summary=_one(fields, "Body")[:200],
        body=fields,
        status=None if reply is None else reply.status,
        accepted=accepted,
        provider_id=reply.json["sid"] if reply is not None and accepted else None,
    )
    return await respond(request, reply, delay_ms=delay_ms)


async def fetch_message(request: web.Request) -> web.StreamResponse:
    account_sid = request.match_info["account_sid"]
    if not _authorized(request, account_sid):
        return await respond(request, AUTH_ERROR)
    resource = request.app[STORE].get_twilio_message(account_sid, request.match_info["sid"])
    if resource is None:
        message = f"The requested resource {request.path} was not found"
        return await respond(request, error(404, 20404, message))
    return await respond(request, Reply(200, json=resource))


def _page_params(request: web.Request) -> tuple[int, int]:
    try:
        size = int(request.query.get("PageSize", "50"))
        page = int(request.query.get("Page", "0"))
    except ValueError:
        return 50, 0
    return min(max(size, 1), 1000), max(page, 0)


async def list_messages(request: web.Request) -> web.StreamResponse:
    account_sid = request.match_info["account_sid"]
    if not _authorized(request, account_sid):
        return await respond(request, AUTH_ERROR)
    to, from_ = request.query.get("To"), request.query.get("From")
    resources = request.app[STORE].twilio_messages(account_sid, to, from_)
    size, page = _page_params(request)
    start = page * size
    chunk = resources[start : start + size]
    filters = {key: value for key, value in (("To", to), ("From", from_)) if value}

    def page_uri(number: int) -> str:
        query = urlencode({**filters, "PageSize": size, "Page": number})
        return f"{BASE.format(account_sid=account_sid)}/Messages.json?{query}"

    envelope = {
        "messages": chunk,
        "page": page,
        "page_size": size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        "uri": page_uri(page),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if start + size < len(resources) else None,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
    }
    return await respond(request, Reply(200, json=envelope))


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{BASE}/Messages.json", create_message)
    app.router.add_get(f"{BASE}/Messages.json", list_messages)
    app.router.add_get(f"{BASE}/Messages/{{sid}}.json", fetch_message)
