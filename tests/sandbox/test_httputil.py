"""The sandbox's own pages carry a Content-Security-Policy: they display captured content
nobody vetted (an email's HTML, an SMS body), so only the sandbox's own scripts may run."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from notify.sandbox.server import build_app
from notify.sandbox.store import PROVIDERS, Store

from .helpers import ACCOUNT_SID, AUTH_TOKEN, Sandbox


def directives(header: str) -> dict[str, list[str]]:
    parsed = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parsed}


def test_every_page_of_the_sandbox_carries_the_policy(sandbox: Sandbox) -> None:
    form = {"To": "+15550000001", "From": "+15017122661", "Body": "<script>alert(1)</script>"}
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sandbox.api("POST", path, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN)).status_code == 201
    [record] = sandbox.messages()

    for path, status in [("/", 200), (f"/messages/{record['id']}", 200), ("/messages/9", 404)]:
        response = sandbox.api("GET", path)
        assert response.status_code == status, path
        assert response.headers["Content-Type"].startswith("text/html"), path
        policy = directives(response.headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], path
        assert policy["script-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'self'"], path


def test_provider_answers_are_left_as_the_provider_sends_them(sandbox: Sandbox) -> None:
    response = sandbox.api("GET", "/_sandbox/messages")

    assert response.headers["Content-Type"].startswith("application/json")
    assert "Content-Security-Policy" not in response.headers


def test_a_page_that_sets_its_own_policy_keeps_it() -> None:
    own = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

    async def message_html(request: web.Request) -> web.Response:
        headers = {"Content-Security-Policy": own}
        return web.Response(text="<p>hi</p>", content_type="text/html", headers=headers)

    async def fetch() -> tuple[str, str]:
        app = build_app(Store(), frozenset(PROVIDERS))
        app.router.add_get("/raw-html", message_html)
        async with TestClient(TestServer(app)) as client:
            kept = await client.get("/raw-html")
            index = await client.get("/")
            return kept.headers["Content-Security-Policy"], index.headers["Content-Security-Policy"]

    kept, default = asyncio.run(fetch())

    assert kept == own
    assert "script-src 'self'" in default
