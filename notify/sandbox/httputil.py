"""Pieces shared by the HTTP stand-ins: app keys and the one way a provider answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from notify.sandbox.store import Store


@dataclass
class Ports:
    """Filled in once the listeners are bound, so port 0 reports the real port."""

    http_port: int | None = None
    smtp_port: int | None = None


STORE = web.AppKey("store", Store)
PORTS = web.AppKey("ports", Ports)


@dataclass(frozen=True)
class Reply:
    status: int
    json: Any = None
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


async def respond(
    request: web.Request, reply: Reply | None, *, delay_ms: int = 0
) -> web.StreamResponse:
    """Answer after the configured latency; `reply=None` drops the connection instead.

    The wait is an asyncio sleep, so a thousand slow requests cost no threads.
    """
    total_ms = request.app[STORE].latency_ms + delay_ms
    if total_ms > 0:
        await asyncio.sleep(total_ms / 1000)
    if reply is None:
        if request.transport is not None:
            request.transport.close()
        # aiohttp skips writing to a closed transport; the client sees a bare disconnect.
        return web.Response(status=500)
    if reply.text is not None:
        return web.Response(
            status=reply.status,
            text=reply.text,
            content_type=reply.content_type,
            headers=reply.headers,
        )
    if reply.json is None:
        return web.Response(status=reply.status, headers=reply.headers)
    return web.json_response(reply.json, status=reply.status, headers=reply.headers)


def retry_after_headers(retry_after: int | None) -> dict[str, str]:
    return {} if retry_after is None else {"Retry-After": str(retry_after)}
