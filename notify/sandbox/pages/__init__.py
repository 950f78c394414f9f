"""The pages a developer looks at, like a mail catcher's: the message list (search, filters,
live updates, clear all), one message's view, its HTML part and source, and the page's own
CSS and JavaScript, served as files so no inline script or style is needed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from notify.sandbox.httputil import PORTS, STORE
from notify.sandbox.pages.layout import email_parts, page
from notify.sandbox.pages.listing import Filters, render_feed, render_index
from notify.sandbox.pages.message import HTML_CSP, framed_html, raw_source, render_message
from notify.sandbox.store import Record

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "sandbox.css": "text/css",
    "sandbox.js": "text/javascript",
}
NO_STORE = {"Cache-Control": "no-store"}


def _not_found(what: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=page("Not found", f"<h1>{what}</h1>"), content_type="text/html")


def _record(request: web.Request) -> Record:
    try:
        record = request.app[STORE].get(int(request.match_info["id"]))
    except ValueError:
        record = None
    if record is None:
        raise _not_found("No such message")
    return record


def _int(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


async def index(request: web.Request) -> web.Response:
    filters = Filters.from_query(request.query)
    text = render_index(request.app[STORE], request.app[PORTS], filters)
    return web.Response(text=text, content_type="text/html", headers=NO_STORE)


async def feed(request: web.Request) -> web.Response:
    filters = Filters.from_query(request.query)
    body = render_feed(
        request.app[STORE],
        filters,
        after=_int(request.query.get("after")),
        epoch=_int(request.query.get("epoch")),
    )
    return web.json_response(body, headers=NO_STORE)


async def message(request: web.Request) -> web.Response:
    return web.Response(text=render_message(_record(request)), content_type="text/html")


async def message_html(request: web.Request) -> web.Response:
    record = _record(request)
    html = email_parts(record)["html"] if record.provider in ("smtp", "postmark") else None
    if html is None:
        raise _not_found("This message has no HTML part")
    headers = {
        "Content-Security-Policy": HTML_CSP,
        "X-Content-Type-Options": "nosniff",
        # A link opened from a captured email does not tell its target where it was read.
        "Referrer-Policy": "no-referrer",
    }
    return web.Response(text=framed_html(str(html)), content_type="text/html", headers=headers)


async def message_raw(request: web.Request) -> web.Response:
    record = _record(request)
    body, content_type = raw_source(record)
    extension = "eml" if content_type == "message/rfc822" else "json"
    headers = {
        "Content-Disposition": f'attachment; filename="message-{record.id}.{extension}"',
        "X-Content-Type-Options": "nosniff",
    }
    return web.Response(body=body, content_type=content_type, headers=headers)


async def clear(request: web.Request) -> web.Response:
    # A form post from another site must not empty the sandbox: same origin only.
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="cross-origin request refused")
    request.app[STORE].clear()
    raise web.HTTPSeeOther("/")


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    text = (STATIC / name).read_text(encoding="utf-8")
    return web.Response(text=text, content_type=ASSETS[name], headers=NO_STORE)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/feed", feed)
    app.router.add_post("/clear", clear)
    app.router.add_get("/messages/{id}", message)
    app.router.add_get("/messages/{id}/html", message_html)
    app.router.add_get("/messages/{id}/raw", message_raw)
    app.router.add_get("/assets/{name}", asset)
