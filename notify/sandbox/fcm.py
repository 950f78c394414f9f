"""FCM HTTP v1 (`messages:send`) stand-in."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from aiohttp import web

from notify.sandbox.faults import FaultRule
from notify.sandbox.httputil import STORE, Reply, respond, retry_after_headers

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
# Always-on dead token, so a demo can show token clean-up without setting a rule.
MAGIC_UNREGISTERED = "unregistered-token"
TARGETS = ("token", "fid", "topic", "condition")
MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access "
    "token, login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def error(
    status: int,
    rpc_status: str,
    message: str,
    fcm_code: str | None = None,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """google.rpc error; firebase-admin picks its exception from details[].errorCode first."""
    extra = details or []
    all_details = [{"@type": FCM_ERROR, "errorCode": fcm_code}, *extra] if fcm_code else extra
    body: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if all_details:
        body["details"] = all_details
    return Reply(status, json={"error": body}, headers=headers or {})


def _bad_field(field: str, description: str) -> list[dict[str, Any]]:
    violation = {"field": field, "description": description}
    return [{"@type": BAD_REQUEST, "fieldViolations": [violation]}]


UNREGISTERED = error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")


def _fault_reply(rule: FaultRule) -> Reply | None:
    retry = retry_after_headers(rule.retry_after)
    bad_registration = "The registration token is not a valid FCM registration token"
    replies: dict[str, Reply | None] = {
        "http_429": error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
            "QUOTA_EXCEEDED",
            headers=retry,
        ),
        "http_500": error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
        "http_503": error(
            503,
            "UNAVAILABLE",
            "The service is currently unavailable.",
            "UNAVAILABLE",
            headers=retry,
        ),
        "drop": None,
        "fcm_unregistered": UNREGISTERED,
        "fcm_invalid_argument": error(
            400,
            "INVALID_ARGUMENT",
            bad_registration,
            "INVALID_ARGUMENT",
            details=_bad_field("message.token", bad_registration),
        ),
        "fcm_sender_id_mismatch": error(
            403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"
        ),
        "fcm_third_party_auth": error(
            401,
            "UNAUTHENTICATED",
            "Auth error from APNS or Web Push Service",
            "THIRD_PARTY_AUTH_ERROR",
        ),
    }
    return replies[rule.kind]


def _target(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    for key in TARGETS:
        if isinstance(message.get(key), str):
            return str(message[key])
    return ""


def _target_error(message: dict[str, Any]) -> Reply | None:
    targets = [key for key in TARGETS if key in message]
    if not targets:
        return error(400, "INVALID_ARGUMENT", "Recipient of the message is not set.")
    if len(targets) > 1:
        text = (
            "Invalid value at 'message' (oneof), oneof field 'target' is already set. "
            f"Cannot set '{targets[1]}'"
        )
        return error(400, "INVALID_ARGUMENT", text)
    if _target(message) == MAGIC_UNREGISTERED:
        return UNREGISTERED
    return None


def _data_error(message: dict[str, Any]) -> Reply | None:
    data = message.get("data", {})
    if not isinstance(data, dict):
        return error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data'")
    for index, value in enumerate(data.values()):
        # The SDK enforces this too; a hand-rolled client is the one that trips here.
        if not isinstance(value, str):
            field = f"message.data[{index}].value"
            text = f"Invalid value at '{field}' (TYPE_STRING), {json.dumps(value)}"
            return error(400, "INVALID_ARGUMENT", text, details=_bad_field(field, text))
    return None


def _validation_error(payload: Any) -> Reply | None:
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    return _data_error(message) or _target_error(message)


def _message_name(project: str, payload: dict[str, Any]) -> str:
    if payload.get("validate_only") is True:
        # What FCM itself answers for a dry run: validated, but never sent.
        return f"projects/{project}/messages/fake_message_id"
    return f"projects/{project}/messages/0:{time.time_ns() // 1000}%{secrets.token_hex(8)}"


def _has_bearer(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


async def _read_payload(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        return None


def _summary(message: Any) -> tuple[str, str | None]:
    """(notification title, our delivery id) from whatever message shape arrived."""
    if not isinstance(message, dict):
        return "", None
    notification = message.get("notification")
    title = notification.get("title") if isinstance(notification, dict) else None
    data = message.get("data")
    delivery_id = data.get("notify_delivery_id") if isinstance(data, dict) else None
    return (
        title if isinstance(title, str) else "",
        delivery_id if isinstance(delivery_id, str) else None,
    )


async def send_message(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    project = request.match_info["project"]
    payload = await _read_payload(request)
    message = payload.get("message") if isinstance(payload, dict) else None
    to = _target(message)
    reply: Reply | None
    delay_ms = 0
    if not _has_bearer(request):
        reply = error(401, "UNAUTHENTICATED", MISSING_CREDENTIALS)
    elif (rule := store.faults.take("fcm", [to])) and rule.kind != "slow":
        reply = _fault_reply(rule)
    else:
        delay_ms = (rule.delay_ms or 0) if rule else 0
        reply = _validation_error(payload)
        if reply is None:
            reply = Reply(200, json={"name": _message_name(project, payload)})
    accepted = reply is not None and reply.status == 200
    title, delivery_id = _summary(message)
    store.add(
        provider="fcm",
        to=to,
        delivery_id=delivery_id,
        summary=title[:200],
        body=message if isinstance(message, dict) else {"raw": payload},
        status=None if reply is None else reply.status,
        accepted=accepted,
        provider_id=reply.json["name"] if reply is not None and accepted else None,
    )
    return await respond(request, reply, delay_ms=delay_ms)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/projects/{project}/messages:send", send_message)
