"""Control API under /_sandbox/: what was received, fault rules and latency."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from notify.sandbox.faults import FaultRuleError
from notify.sandbox.httputil import PORTS, STORE
from notify.sandbox.store import PROVIDERS


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"invalid JSON: {exc}"}), content_type="application/json"
        ) from exc


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, **dataclasses.asdict(request.app[PORTS])})


async def list_messages(request: web.Request) -> web.Response:
    query = request.query
    provider = query.get("provider") or None
    if provider is not None and provider not in PROVIDERS:
        return _bad_request(f"provider must be one of {list(PROVIDERS)}")
    try:
        limit = int(query.get("limit", "100"))
    except ValueError:
        return _bad_request("limit must be an integer")
    count, records = request.app[STORE].query(
        provider=provider,
        to=query.get("to") or None,
        delivery_id=query.get("delivery_id") or None,
        limit=max(limit, 0),
    )
    return web.json_response({"count": count, "messages": [r.to_json() for r in records]})


async def get_message(request: web.Request) -> web.Response:
    try:
        record = request.app[STORE].get(int(request.match_info["id"]))
    except ValueError:
        record = None
    if record is None:
        return web.json_response({"error": "no such message"}, status=404)
    return web.json_response(record.to_json())


async def clear_messages(request: web.Request) -> web.Response:
    request.app[STORE].clear()
    return web.json_response({"ok": True})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STORE].stats())


async def list_faults(request: web.Request) -> web.Response:
    rules = request.app[STORE].faults.rules()
    return web.json_response({"faults": [rule.to_json() for rule in rules]})


async def add_fault(request: web.Request) -> web.Response:
    try:
        rule = request.app[STORE].faults.add(await _json_body(request))
    except FaultRuleError as exc:
        return _bad_request(str(exc))
    return web.json_response(rule.to_json(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    return web.json_response({"cleared": request.app[STORE].faults.clear()})


async def delete_fault(request: web.Request) -> web.Response:
    try:
        removed = request.app[STORE].faults.remove(int(request.match_info["id"]))
    except ValueError:
        removed = False
    if not removed:
        return web.json_response({"error": "no such fault rule"}, status=404)
    return web.json_response({"cleared": 1})


def _config(request: web.Request) -> dict[str, Any]:
    return {"latency_ms": request.app[STORE].latency_ms}


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(_config(request))


async def set_config(request: web.Request) -> web.Response:
    payload = await _json_body(request)
    latency = payload.get("latency_ms") if isinstance(payload, dict) else None
    if isinstance(latency, bool) or not isinstance(latency, int) or latency < 0:
        return _bad_request("latency_ms must be an integer >= 0")
    request.app[STORE].latency_ms = latency
    return web.json_response(_config(request))


async def reset(request: web.Request) -> web.Response:
    request.app[STORE].reset()
    return web.json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/_sandbox/health", health)
    router.add_get("/_sandbox/messages", list_messages)
    router.add_delete("/_sandbox/messages", clear_messages)
    router.add_get("/_sandbox/messages/{id}", get_message)
    router.add_get("/_sandbox/stats", stats)
    router.add_get("/_sandbox/faults", list_faults)
    router.add_post("/_sandbox/faults", add_fault)
    router.add_delete("/_sandbox/faults", clear_faults)
    router.add_delete("/_sandbox/faults/{id}", delete_fault)
    router.add_get("/_sandbox/config", get_config)
    router.add_post("/_sandbox/config", set_config)
    router.add_post("/_sandbox/reset", reset)
