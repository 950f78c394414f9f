"""Pieces shared by the HTTP stand-ins: app keys, the one way a provider answers, and the
Content-Security-Policy of the sandbox's own pages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

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


# The sandbox shows what Notify sent, HTML email included, so its pages display content
# nobody vetted: only its own scripts run. A captured email's HTML is shown in a
# sandboxed iframe that inherits this policy: its inline styles apply, its remote images and
# scripts do not load. Framing by the sandbox's own pages only (a message's HTML may be
# served from a route of its own for an iframe).
SANDBOX_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


def _with_csp(response: web.StreamResponse) -> None:
    # A route that set its own policy (e.g. stricter, for one message's HTML) keeps it.
    if response.content_type == "text/html" and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = SANDBOX_CSP


@web.middleware
async def content_security_policy(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every HTML page of the sandbox, error pages included, carries SANDBOX_CSP."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        _with_csp(error)
        raise
    if not response.prepared:  # a streamed answer has sent its headers already
        _with_csp(response)
    return response
