"""CPU per delivery of one worker process, robust on a busy machine (CPU time, not wall time).

Starts the provider stand-ins (50 ms) and one `celery -A celery_app worker -c 1` on the
database and Redis of the environment (DATABASE_URL, REDIS_URL: use ones of your own, the
tables are emptied), then feeds it deliveries straight through the models and the doorbell,
as the API's commit would, and reads the worker's process CPU time (psutil, parent and pool
child) before and after:

- `trickle`: one delivery at a time at `--rate` per second, rotating email/SMS/push (the
  ordinary-load case: claims of one, so the per-claim and per-outcome costs dominate);
- `backlog`: `--n` deliveries inserted at once, then one ring per channel (batches).

    DATABASE_URL=... REDIS_URL=... SECRET_KEY=x python -m bench.cpu_delivery --mode trickle

`--profile` attaches py-spy to the pool process for the measured window (raw stacks to
`--profile-out`)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

import django

_ROOT = Path(__file__).resolve().parent.parent
# Worker command lines: one process; the plain `celery -A celery_app worker` on 2 cores
# (-c 2); `make run`'s before this change (-c 4 and an urgent worker -c 2).
LAYOUTS = {
    "single": [["-c", "1"]],
    "plain": [["-c", "2"]],
    "run": [["-c", "4"], ["-c", "2", "-Q", "urgent", "-n", "urgent@%h"]],
}
_TMP = Path(tempfile.gettempdir())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _provider_env(http: int, smtp: int) -> dict[str, str]:
    return {
        "EMAIL_PROVIDER": "smtp",
        "EMAIL_PROVIDERS": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp),
        "TWILIO_BASE_URL": f"http://127.0.0.1:{http}",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "cpu-bench",
        "TWILIO_FROM": "+15005550006",
        "FCM_BASE_URL": f"http://127.0.0.1:{http}",
        "FCM_PROJECT_ID": "notify-sandbox",
        "NOTIFY_API_RATE": "",
        "LOG_LEVEL": "WARNING",
    }


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("trickle", "backlog"), default="trickle")
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="single")
    parser.add_argument("--urgent-every", type=int, default=0, help="every Nth is critical")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-out", default=str(_TMP / "cpu_delivery.txt"))
    return parser.parse_args()


def main() -> None:
    args = _args()

    http, smtp = _free_port(), _free_port()
    os.environ.update(_provider_env(http, smtp))
    django.setup()
    import psutil

    from notify.models.notifications import Delivery

    _empty()
    logs = (_TMP / "cpu_delivery.log").open("wb")
    py = sys.executable
    ports = ["--http-port", str(http), "--smtp-port", str(smtp)]
    sandbox = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [py, "-m", "notify.sandbox", *ports, "--latency-ms", str(args.latency_ms)],
        cwd=_ROOT,
        stdout=logs,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    celery = [py, "-m", "celery", "-A", "celery_app", "worker", "-l", "warning"]
    workers = [
        subprocess.Popen(  # noqa: S603
            [*celery, *options],
            cwd=_ROOT,
            stdout=logs,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for options in LAYOUTS[args.layout]
    ]
    try:
        time.sleep(6)
        # Warm-up: the first sends open connections and import lazily.
        _feed(30, rate=30.0, mode="trickle")
        _wait_sent(Delivery, 30)
        time.sleep(1)
        procs = [p for w in workers for p in (psutil.Process(w.pid), *_children(w.pid))]
        spy = None
        if args.profile:
            child = procs[-1].pid
            spy_bin = str(Path(py).parent / "py-spy")
            raw = ["-r", "200", "-f", "raw", "-o", args.profile_out, "--nonblocking", "--gil"]
            spy = subprocess.Popen(  # noqa: S603
                [spy_bin, "record", "-p", str(child), *raw],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        # What the worker spends doing nothing (Celery's own loop, the wake listener's
        # polls), so the figure per delivery can be given without it.
        idle_from = sum(_cpu(p) for p in procs)
        time.sleep(5)
        idle_per_s = (sum(_cpu(p) for p in procs) - idle_from) / 5
        before = sum(_cpu(p) for p in procs)
        started = time.monotonic()
        _feed(args.n, rate=args.rate, mode=args.mode, urgent_every=args.urgent_every)
        _wait_sent(Delivery, 30 + args.n)
        wall = time.monotonic() - started
        used = sum(_cpu(p) for p in procs) - before
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
        print(
            f"mode={args.mode} n={args.n} rate={args.rate} wall={wall:.1f}s "
            f"worker_cpu={used:.2f}s cpu_ms_per_delivery={used * 1000 / args.n:.2f} "
            f"idle={idle_per_s * 1000:.0f}ms/s "
            f"net_ms_per_delivery={(used - idle_per_s * wall) * 1000 / args.n:.2f}"
        )
    finally:
        for proc in (*workers, sandbox):
            os.killpg(proc.pid, 15)
            proc.wait(20)


def _children(pid: int) -> list[Any]:
    import psutil

    return list(psutil.Process(pid).children())


def _cpu(proc: object) -> float:
    times = proc.cpu_times()  # type: ignore[attr-defined]
    return float(times.user + times.system)


def _empty() -> None:
    from django.db import connection

    from notify.redis_client import redis_client

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notify_deliveryattempt, notify_delivery, notify_notification, "
            "notify_recipient CASCADE"
        )
    redis_client().flushdb()


def _feed(n: int, *, rate: float, mode: str, urgent_every: int = 0) -> None:
    from django.utils import timezone

    from bench.payloads import CONTENT
    from notify.models.notifications import Delivery, Notification, Priority
    from notify.models.recipients import Recipient
    from notify.services.outbox.doorbell import bell_ring, lane_for

    person, _ = Recipient.objects.get_or_create(tenant="default", external_id="cpu")
    channels = ("email", "sms", "push")
    to = {"email": "cpu@bench.example", "sms": "+14155550100", "push": "cpu-token"}

    def make(i: int) -> Delivery:
        note = Notification.objects.create(
            tenant="default", recipient=person, category="cpu", content=CONTENT
        )
        channel = channels[i % 3]
        critical = urgent_every and i % urgent_every == 0
        return Delivery(
            notification=note,
            channel=channel,
            to=to[channel],
            status="pending",
            priority=Priority.CRITICAL if critical else Priority.NORMAL,
            next_attempt_at=timezone.now(),
            max_attempts=8,
        )

    if mode == "backlog":
        Delivery.objects.bulk_create([make(i) for i in range(n)])
        for channel in channels:
            bell_ring(channel=channel, lane=lane_for(Priority.NORMAL))
            if urgent_every:
                bell_ring(channel=channel, lane=lane_for(Priority.CRITICAL))
        return
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        delivery = make(i)
        delivery.save()
        bell_ring(channel=delivery.channel, lane=lane_for(delivery.priority))


def _wait_sent(model: type, count: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if model.objects.exclude(status__in=("pending", "sending")).count() >= count:  # type: ignore[attr-defined]
            return
        time.sleep(0.2)
    raise SystemExit("timed out waiting for the deliveries")


if __name__ == "__main__":
    main()
