"""The processes `run` supervises, and the probes that tell when each is up."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from notify.stack.procs import http_ok, listening
from notify.stack.supervisor import ProcessSpec

FLOWER_PORT = 5555
SANDBOX_HTTP_PORT = 8025
SANDBOX_SMTP_PORT = 2525
# One pool process per core of a small machine: each runs an outbox dispatcher whose send
# threads give the I/O concurrency, while its Python work is bound to one core by the GIL. More
# processes only split the same two cores: measured, `-c 4` plus an urgent worker `-c 2` spent
# 20-30 % more worker CPU per delivery than `-c 2` alone (docs/benchmark.md, worker layouts).
WORKER_CONCURRENCY = 2
URGENT_WORKER_CONCURRENCY = 2
# Set to 1 for a second worker serving only critical/high traffic. Off by default: every
# dispatcher keeps NOTIFY_URGENT_RESERVE send slots that only urgent lanes may use and claims
# them first, so critical messages do not wait for bulk sends without one.
URGENT_WORKER_FLAG = "NOTIFY_URGENT_WORKER"
URGENT_WORKER_DEFAULT = False
# Celery node names, as Flower and `celery inspect` show them (%h: this host's name).
WORKER_NODE = "celery@%h"
URGENT_WORKER_NODE = "urgent@%h"


def process_specs(
    web_port: int,
    flower_password: str,
    *,
    data_dir: Path,
    urgent_worker: bool = URGENT_WORKER_DEFAULT,
    flower_user: str = "admin",
) -> list[ProcessSpec]:
    py = sys.executable  # the venv's interpreter, whatever PATH says
    celery = [py, "-m", "celery", "-A", "celery_app"]
    # Access log on stdout: in development, seeing each request is the point.
    gunicorn = [py, "-m", "gunicorn", "notify.wsgi:application", "--access-logfile", "-"]
    # Hooks only (multiprocess-metrics bookkeeping when a web worker exits).
    gunicorn += ["-c", "python:notify.observability.gunicorn"]
    sandbox_ports = ["--http-port", str(SANDBOX_HTTP_PORT), "--smtp-port", str(SANDBOX_SMTP_PORT)]
    worker = [*celery, "worker", "-l", "info"]
    urgent = ["-n", URGENT_WORKER_NODE, "-Q", "urgent"]
    specs = [
        ProcessSpec(
            "sandbox",
            [py, "-m", "notify.sandbox", "--host", "127.0.0.1", *sandbox_ports],
            ready=lambda: http_ok(f"http://127.0.0.1:{SANDBOX_HTTP_PORT}/_sandbox/health"),
        ),
        ProcessSpec(
            "web",
            [*gunicorn, "-b", f"127.0.0.1:{web_port}", "-w", "2", "--threads", "4"],
            ready=lambda: listening(web_port),
        ),
        # No -Q: every queue in CELERY_TASK_QUEUES, urgent included. Urgent is kept as a
        # fallback, so critical traffic still goes out if the urgent worker is off or dead; a
        # drain claims its rows with SKIP LOCKED, so two workers on one queue never send a
        # delivery twice. Listing the queues here instead would silently leave any queue
        # added to the settings later without a consumer.
        ProcessSpec(
            "worker",
            [*worker, "-n", WORKER_NODE, "--concurrency", str(WORKER_CONCURRENCY)],
            ready_text=" ready.",
        ),
    ]
    if urgent_worker:
        specs.append(
            ProcessSpec(
                "urgent",
                [*worker, *urgent, "--concurrency", str(URGENT_WORKER_CONCURRENCY)],
                ready_text=" ready.",
            )
        )
    specs += [
        ProcessSpec(
            "beat",
            [*celery, "beat", "-l", "info", "--schedule", str(data_dir / "celerybeat-schedule")],
            # Beat's start-up banner goes to stdout whatever the log level.
            ready_text="is starting.",
        ),
        ProcessSpec(
            "flower",
            # Loopback only: Flower's default is every interface.
            [*celery, "flower", "--address=127.0.0.1", f"--port={FLOWER_PORT}"],
            ready=lambda: listening(FLOWER_PORT),
            # Flower reads any FLOWER_<OPTION> from its environment; there the password stays
            # out of `ps`, the start-up log and shell history.
            env={"FLOWER_BASIC_AUTH": f"{flower_user}:{flower_password}"},
        ),
    ]
    return specs


def workers_summary(*, urgent_worker: bool) -> str:
    """One banner line: the worker nodes as Flower names them, and what each consumes."""
    host = socket.gethostname()
    main = f"{WORKER_NODE.replace('%h', host)} (every queue)"
    if not urgent_worker:
        return f"{main}; no urgent worker ({URGENT_WORKER_FLAG}=1 adds one)"
    return f"{main}, {URGENT_WORKER_NODE.replace('%h', host)} (urgent queue only)"
