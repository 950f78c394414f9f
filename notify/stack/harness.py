"""Notify's own processes — gunicorn, Celery workers and beat, the provider sandbox — started
as an operator would start them, for the e2e tests, the fault suite and the benchmark.

Each caller decides the environment (which database, which Redis, which knobs); the command
lines, the readiness checks and the stopping are written here once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from notify.stack.procs import Proc, free_port, http_ok, wait_for

# What a Celery worker prints once it consumes (the `make run` supervisor waits for it too).
WORKER_READY_TEXT = " ready."


def celery_argv() -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "celery_app"]


def worker_argv(
    node: str, *, concurrency: int, loglevel: str = "info", extra: Sequence[str] = ()
) -> list[str]:
    """A worker consuming every queue in the settings unless `extra` says `-Q ...`. No
    gossip or mingle: a test's or a benchmark's workers have nothing to learn from peers,
    and mingling slows the start."""
    return [
        *celery_argv(),
        "worker",
        "-l",
        loglevel,
        "-c",
        str(concurrency),
        "-n",
        node,
        "--without-gossip",
        "--without-mingle",
        *extra,
    ]


def beat_argv(schedule: Path, *, loglevel: str = "info") -> list[str]:
    return [*celery_argv(), "beat", "-l", loglevel, "--schedule", str(schedule)]


def gunicorn_argv(
    port: int, *, workers: int, threads: int, timeout: int = 60, extra: Sequence[str] = ()
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "notify.wsgi:application",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        *extra,
    ]


def sandbox_argv(http_port: int, smtp_port: int | None = None, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "notify.sandbox", "--host", "127.0.0.1"]
    argv += ["--http-port", str(http_port)]
    if smtp_port is not None:
        argv += ["--smtp-port", str(smtp_port)]
    return [*argv, *extra]


def exited(proc: Proc) -> RuntimeError:
    return RuntimeError(f"{proc.name} exited:\n{proc.output(tail=6000)}")


def worker_ready(proc: Proc) -> bool:
    """The worker printed its ready line; raises if it died first (no point waiting)."""
    if not proc.alive():
        raise exited(proc)
    return WORKER_READY_TEXT in proc.output(tail=20000)


def serving(proc: Proc, url: str) -> bool:
    """`url` answers 200; raises if the process behind it died first."""
    if not proc.alive():
        raise exited(proc)
    return http_ok(url)


def start_sandbox(
    name: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    http_port: int,
    smtp_port: int | None = None,
    extra: Sequence[str] = (),
    timeout: float = 20,
    proc_class: type[Proc] = Proc,
) -> Proc:
    """`python -m notify.sandbox` on the given ports, returned once it reports healthy."""
    argv = sandbox_argv(http_port, smtp_port, *extra)
    proc = proc_class(name, argv, env, log_dir)
    health = f"http://127.0.0.1:{http_port}/_sandbox/health"
    wait_for(lambda: serving(proc, health), timeout=timeout, interval=0.05, what=name)
    return proc


class Stack:
    """The web server, workers and beat of one deployment, sharing one environment and one
    log directory. Subclasses add what their suite needs (a private Redis, a database
    proxy, a benchmark's database); `proc_class` lets the benchmark run its children from a
    frozen copy of the code."""

    proc_class: type[Proc] = Proc

    def __init__(self, env: dict[str, str], log_dir: Path, *, web_port: int = 0) -> None:
        self.env, self.log_dir = env, log_dir
        self.web_port = web_port or free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.web: Proc | None = None
        self.workers: list[Proc] = []
        self.beat: Proc | None = None

    @property
    def worker(self) -> Proc | None:
        """The newest worker (the suites that run one worker read it here)."""
        return self.workers[-1] if self.workers else None

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Proc:
        return self.proc_class(name, argv, self.env if env is None else env, self.log_dir)

    def start_web(
        self,
        *,
        workers: int = 2,
        threads: int = 4,
        timeout: int = 60,
        extra: Sequence[str] = (),
        name: str = "web",
        ready_timeout: float = 30,
    ) -> Proc:
        """gunicorn on `web_port`, returned once /healthz answers."""
        argv = gunicorn_argv(
            self.web_port, workers=workers, threads=threads, timeout=timeout, extra=extra
        )
        web = self.web = self.spawn(name, argv)
        healthz = f"{self.url}/healthz"
        wait_for(lambda: serving(web, healthz), timeout=ready_timeout, what=f"{name} /healthz")
        return web

    def start_worker(
        self,
        name: str = "worker",
        *,
        concurrency: int = 2,
        node: str | None = None,
        extra: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        loglevel: str = "info",
        wait: bool = True,
        ready_timeout: float = 30,
    ) -> Proc:
        """A worker added to `workers`, by default returned once it is ready to consume."""
        node = node or f"{name}-{os.getpid()}@%h"
        argv = worker_argv(node, concurrency=concurrency, loglevel=loglevel, extra=extra)
        proc = self.spawn(name, argv, env)
        self.workers.append(proc)
        if wait:
            wait_for(lambda: worker_ready(proc), timeout=ready_timeout, what=f"celery {name}")
        return proc

    def start_beat(self, *, loglevel: str = "info") -> Proc:
        self.beat = self.spawn(
            "beat", beat_argv(self.log_dir / "celerybeat-schedule", loglevel=loglevel)
        )
        return self.beat

    def stop_workers(self, timeout: float = 10.0) -> None:
        for proc in self.workers:
            proc.stop(timeout=timeout)
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        for proc in (self.beat, self.web):
            if proc is not None:
                proc.stop()
        self.beat = self.web = None

    def logs(self, tail: int = 4000) -> str:
        """The last lines of every process's log, for a failed test's report."""
        procs = [p for p in (self.web, *self.workers, self.beat) if p is not None]
        return "\n".join(f"--- {p.name}\n{p.output(tail=tail)}" for p in procs)
