"""The load generator, a process of its own: POST /api/v1/notifications/ on one asyncio loop.

closed: CLIENTS requests always in flight (while the pause file is absent: the orchestrator's
    backlog governor creates it when the pipeline is fed enough, so the API cannot starve the
    workers of CPU by accepting far more than they can send).
open: requests scheduled on a fixed clock at RATE/s, whatever the answers; each latency is
    measured from its scheduled time, so a stalled server is not hidden (coordinated omission).

Usage: python -m bench.loadgen SPEC_JSON  (see LoadSpec); writes its results to spec.out."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.payloads import request_body


@dataclass
class LoadSpec:
    url: str
    kind: str
    mode: str  # "closed" | "open"
    seconds: float
    start_at: float
    out: str
    clients: int = 8
    rate: float = 0.0
    priority: str = "normal"
    prefix: str = "u"
    pause_file: str = ""
    # Open loop: stop scheduling once this file exists (the phase has what it needs).
    stop_file: str = ""
    record_deliveries: bool = False
    # Baseline only: publish one `bench.naive.send` task per accepted delivery to this broker.
    naive_broker: str = ""


@dataclass
class Results:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    # (seconds since start_at when scheduled/started, latency in seconds) per answered request.
    latencies: list[tuple[float, float]] = field(default_factory=list)
    # [delivery id, channel, created_at] for every delivery, when recorded.
    deliveries: list[tuple[str, str, str]] = field(default_factory=list)
    paused_seconds: float = 0.0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0


class Generator:
    def __init__(self, spec: LoadSpec, session: aiohttp.ClientSession) -> None:
        self.spec = spec
        self.session = session
        self.results = Results()
        self.counter = 0
        self.publish = _naive_publisher(spec.naive_broker) if spec.naive_broker else None

    async def one(self, scheduled: float) -> None:
        spec = self.spec
        body = request_body(spec.kind, self.counter, spec.priority, spec.prefix)
        self.counter += 1
        self.results.sent += 1
        url = f"{spec.url}/api/v1/notifications/"
        try:
            async with self.session.post(url, json=body) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            name = type(exc).__name__
            self.results.errors[name] = self.results.errors.get(name, 0) + 1
            return
        done = time.time()
        if status != 202:
            self.results.errors[str(status)] = self.results.errors.get(str(status), 0) + 1
            return
        self.results.ok += 1
        self.results.latencies.append((scheduled - spec.start_at, done - scheduled))
        if spec.record_deliveries or self.publish:
            deliveries = json.loads(payload)["deliveries"]
            for d in deliveries:
                if spec.record_deliveries:
                    self.results.deliveries.append((d["id"], d["channel"], d["created_at"]))
                if self.publish and d["status"] == "pending":
                    self.publish(d["id"])

    async def closed_client(self, end_at: float) -> None:
        pause = Path(self.spec.pause_file) if self.spec.pause_file else None
        while time.time() < end_at:
            if pause is not None and pause.exists():
                await asyncio.sleep(0.05)
                self.results.paused_seconds += 0.05 / self.spec.clients
                continue
            await self.one(time.time())

    async def open_schedule(self, end_at: float) -> None:
        interval = 1.0 / self.spec.rate
        tasks: set[asyncio.Task[None]] = set()
        stop = Path(self.spec.stop_file) if self.spec.stop_file else None
        n = 0
        while True:
            scheduled = self.spec.start_at + n * interval
            if scheduled >= end_at or (stop is not None and stop.exists()):
                break
            await asyncio.sleep(max(0.0, scheduled - time.time()))
            task = asyncio.create_task(self.one(scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        if tasks:
            await asyncio.wait(tasks, timeout=60)


def _naive_publisher(broker: str) -> Any:
    from celery import Celery

    app = Celery("bench-loadgen", broker=broker)
    app.conf.task_serializer = "json"

    def publish(delivery_id: str) -> None:
        app.send_task("bench.naive.send", args=[delivery_id], queue="naive")

    return publish


async def run(spec: LoadSpec) -> Results:
    key = os.environ["BENCH_API_KEY"]
    limit = spec.clients if spec.mode == "closed" else 1000
    connector = aiohttp.TCPConnector(limit=limit, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:
        generator = Generator(spec, session)
        await asyncio.sleep(max(0.0, spec.start_at - time.time()))
        cpu, wall = time.process_time(), time.monotonic()
        end_at = spec.start_at + spec.seconds
        if spec.mode == "closed":
            await asyncio.gather(*(generator.closed_client(end_at) for _ in range(spec.clients)))
        else:
            await generator.open_schedule(end_at)
        generator.results.wall_seconds = time.monotonic() - wall
        generator.results.cpu_seconds = time.process_time() - cpu
    return generator.results


def main() -> None:
    spec = LoadSpec(**json.loads(sys.argv[1]))
    results = asyncio.run(run(spec))
    Path(spec.out).write_text(json.dumps(asdict(results)))


if __name__ == "__main__":
    main()
