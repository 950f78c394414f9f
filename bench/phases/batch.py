"""Phase: the batch API (POST /api/v1/notifications/batch/), over HTTP to the real web server
with the workers draining. Batches of `BATCH_ITEMS` different notifications, each item a
recipient upsert (half of them known from the previous batch) and 1 or 3 channels.

Two steps: batches alone from `batch_clients` clients (accepted items/s, and CPU per item of
the web process, of Postgres and of the workers), then the same while single creates arrive
on a fixed clock (their p99, against the latency targets for single creates). Bodies are
encoded before the clock starts. CPU per item is the figure to compare on a shared machine;
items/s is wall-clock."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from bench.batch_cpu import BATCH_ITEMS, batch_body
from bench.runner import Run, Window
from bench.stats import percentiles

_SETTLE_S = 2.0  # the single creates' first seconds (cold connections) are not measured


def batch_accept(run: Run) -> None:
    cfg, stack = run.cfg, run.stack
    stack.start_workers(cfg.layout)
    out: dict[str, Any] = {
        "items_per_batch": BATCH_ITEMS,
        "payload": "inline content, 1 or 3 channels per item, recipients upserted",
        "clients": cfg.batch_clients,
    }
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    out["alone"] = _batches(run, "a", count=cfg.batch_count)
    stack.wait_idle(timeout=cfg.drain_wait_seconds)
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    out["with_singles"] = _with_singles(run)
    stack.wait_idle(timeout=cfg.drain_wait_seconds)
    run.results["batch"] = out
    alone, mixed = out["alone"], out["with_singles"]
    run.say(
        f"batch: {alone['items_per_s']:,} items/s, web {alone['cpu_ms_per_item']['web']} ms "
        f"CPU/item; single creates at {cfg.batch_single_rate}/s alongside: p99 "
        f"{mixed['single_latency_ms'].get('p99')} ms"
    )
    if not alone["items"]:
        raise RuntimeError("batch: nothing accepted")


class _Poster:
    """Batches from a few client threads, until `count` are sent or `until` has passed."""

    def __init__(self, run: Run, bodies: list[bytes], clients: int) -> None:
        self.url = f"{run.stack.url}/api/v1/notifications/batch/"
        self.headers = {
            "Authorization": f"Bearer {run.stack.api_key}",
            "Content-Type": "application/json",
        }
        self.bodies, self.clients = bodies, clients
        self.lock = threading.Lock()
        self.next = 0
        self.accepted = 0
        self.refused: dict[str, int] = {}
        self.seconds: list[float] = []

    def run(self, until: float = float("inf")) -> None:
        threads = [
            threading.Thread(target=self._client, args=(until,)) for _ in range(self.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _client(self, until: float) -> None:
        session = requests.Session()
        while time.time() < until:
            with self.lock:
                if self.next >= len(self.bodies):
                    return
                body = self.bodies[self.next]
                self.next += 1
            started = time.perf_counter()
            response = session.post(self.url, data=body, headers=self.headers, timeout=300)
            elapsed = time.perf_counter() - started
            with self.lock:
                self.seconds.append(elapsed)
                if response.status_code != 200:
                    key = f"HTTP {response.status_code}"
                    self.refused[key] = self.refused.get(key, 0) + 1
                    continue
                for result in response.json()["results"]:
                    if result["status"] == 202:
                        self.accepted += 1
                    else:
                        key = str(result["status"])
                        self.refused[key] = self.refused.get(key, 0) + 1


def _bodies(prefix: str, count: int) -> list[bytes]:
    return [batch_body(b, prefix=prefix) for b in range(count)]


def _figures(poster: _Poster, window: Window) -> dict[str, Any]:
    items, seconds = poster.accepted, max(window.seconds, 1e-9)

    def per_item(roles: list[str]) -> float:
        return round(1000 * window.cpu_seconds(roles) / max(items, 1), 3)

    return {
        "batches": len(poster.seconds),
        "items": items,
        "refused": poster.refused,
        "seconds": round(seconds, 2),
        "items_per_s": round(items / seconds),
        "batch_seconds": percentiles(poster.seconds),
        "cpu_ms_per_item": {
            "web": per_item(["web"]),
            "postgres": per_item(["postgres"]),
            "workers": per_item(["workers"]),
        },
        "cores": window.cores(),
    }


def _batches(run: Run, prefix: str, *, count: int) -> dict[str, Any]:
    poster = _Poster(run, _bodies(prefix, count), run.cfg.batch_clients)
    window = Window(run)
    poster.run()
    return _figures(poster, window.close())


def _with_singles(run: Run) -> dict[str, Any]:
    """Batches for `batch_seconds` while single creates (one SMS each) arrive at
    `batch_single_rate` per second."""
    cfg = run.cfg
    seconds = cfg.batch_seconds + _SETTLE_S
    spec = run.spec(kind="sms", mode="open", rate=cfg.batch_single_rate, seconds=seconds)
    # More bodies than can be sent in the time; the posters stop when it is up.
    poster = _Poster(run, _bodies("w", cfg.batch_count * 4), cfg.batch_clients)
    run.start_load(spec)
    time.sleep(max(0.0, spec.start_at + _SETTLE_S - time.time()))
    window = Window(run)
    poster.run(until=spec.start_at + seconds)
    figures = _figures(poster, window.close())
    load = run.finish_load(spec, timeout=seconds + 120)
    measured = [lat for t, lat in load["latencies"] if t >= _SETTLE_S]
    figures["single_rate_per_s"] = cfg.batch_single_rate
    figures["single_latency_ms"] = percentiles(measured, scale=1000)
    figures["single_errors"] = load["errors"]
    run.samples["batch_singles"] = [lat * 1000 for lat in measured]
    return figures
