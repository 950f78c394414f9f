"""Assemble the stand-ins on one event loop and run them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field

from aiohttp import web

from notify.sandbox import control, fcm, pages, postmark, twilio
from notify.sandbox.httputil import PORTS, STORE, Ports, content_security_policy
from notify.sandbox.smtp import SmtpListener, start_smtp
from notify.sandbox.store import DEFAULT_CAPACITY, PROVIDERS, Store

log = logging.getLogger("notify.sandbox")


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    http_port: int = 8025
    smtp_port: int = 2525
    latency_ms: int = 0
    providers: frozenset[str] = field(default_factory=lambda: frozenset(PROVIDERS))
    capacity: int = DEFAULT_CAPACITY
    access_log: bool = False


@dataclass
class RunningSandbox:
    store: Store
    http_port: int
    smtp_port: int | None
    _runner: web.AppRunner
    _smtp: SmtpListener | None

    async def close(self) -> None:
        if self._smtp is not None:
            await self._smtp.close()
        await self._runner.cleanup()


def build_app(store: Store, providers: frozenset[str]) -> web.Application:
    app = web.Application(middlewares=[content_security_policy])
    app[STORE] = store
    app[PORTS] = Ports()
    control.add_routes(app)
    pages.add_routes(app)
    if "postmark" in providers:
        postmark.add_routes(app)
    if "twilio" in providers:
        twilio.add_routes(app)
    if "fcm" in providers:
        fcm.add_routes(app)
    return app


async def start(config: SandboxConfig) -> RunningSandbox:
    store = Store(capacity=config.capacity, latency_ms=config.latency_ms)
    app = build_app(store, config.providers)
    # aiohttp's default keep-alive stays on; access logging is off by default because
    # formatting a line per request costs more than the stand-in's own work.
    # A short shutdown_timeout: in-flight "slow" faults may sleep for minutes, and a
    # sandbox should stop promptly on SIGTERM rather than finish them.
    runner = web.AppRunner(app, access_log=log if config.access_log else None, shutdown_timeout=1.0)
    await runner.setup()
    smtp_server = None
    try:
        await web.TCPSite(runner, config.host, config.http_port, backlog=1024).start()
        if "smtp" in config.providers:
            smtp_server = await start_smtp(store, config.host, config.smtp_port)
    except OSError:
        await runner.cleanup()
        raise
    http_port = int(runner.addresses[0][1])
    smtp_port = smtp_server.port if smtp_server else None
    app[PORTS].http_port, app[PORTS].smtp_port = http_port, smtp_port
    return RunningSandbox(store, http_port, smtp_port, runner, smtp_server)


async def serve(config: SandboxConfig) -> None:
    """Run until SIGINT or SIGTERM."""
    running = await start(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    smtp = f"smtp://{config.host}:{running.smtp_port}" if running.smtp_port else "smtp off"
    log.info(
        "Notify provider sandbox on http://%s:%s/ (%s), providers: %s",
        config.host,
        running.http_port,
        smtp,
        ", ".join(sorted(config.providers)),
    )
    try:
        await stop.wait()
    finally:
        await running.close()


def run(config: SandboxConfig) -> None:
    asyncio.run(serve(config))
