"""The deployment under test: a dedicated database (notify_bench) and Redis database (/10) on
the Postgres and Redis that `notify.stack.resolve` finds or starts, gunicorn, Celery workers and
beat, all started as an operator would start them, with the environment below."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg2
import redis

from bench.config import BenchConfig, Layout
from bench.procs import ROOT, SOURCE, Proc
from bench.sandboxes import Sandboxes
from notify.stack import harness, procs
from notify.stack.procs import wait_for
from notify.stack.resolve import Services, resolve

# BENCH_DATABASE: another name, so two bench runs (two worktrees) do not drop each other's.
DATABASE = os.environ.get("BENCH_DATABASE", "notify_bench")
# Not 13: tests/observability/test_metrics.py flushes Redis database 13 as its broker, and
# other people's suites use 9, 11, 12, 14 and 15 (NOTIFY_TEST_REDIS_DB); a flush mid-run
# loses the bench's queued tasks. BENCH_REDIS_DB moves it if 10 is taken too.
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "10"))
# Deleting these (children first) empties the bench database but keeps the API key.
_TABLES = (
    "notify_subscription",
    "notify_broadcast",
    "notify_topic",
    "notify_deliveryattempt",
    "notify_delivery",
    "notify_notification",
    "notify_device",
    "notify_recipient",
)
_OWNER_KEY = "bench:owner-pid"
_QUEUES = ("urgent", "email", "sms", "push", "maintenance", "naive")


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


class Stack(harness.Stack):
    proc_class = Proc

    def __init__(self, cfg: BenchConfig, log_dir: Path) -> None:
        # The environment is filled in by start_services(), once Postgres and Redis are found.
        super().__init__({}, log_dir)
        self.cfg = cfg
        self.services: Services | None = None
        self.sandboxes: Sandboxes | None = None
        self.api_key = ""
        self.db: psycopg2.extensions.connection | None = None
        self.redis: redis.Redis | None = None

    def say(self, text: str) -> None:
        print(f"[bench] {text}", flush=True)

    # --- set-up -------------------------------------------------------------------------
    def start_services(self, base_env: dict[str, str]) -> None:
        services = resolve(base_env, ROOT / ".data", self.say)
        self.services = services
        database_url = with_path(services.database_url, f"/{DATABASE}")
        redis_url = with_path(services.redis_url, f"/{REDIS_DB}")
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5)
        self._claim_redis()
        _recreate_database(with_path(services.database_url, "/postgres"))
        self.env = {
            **base_env,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-only-not-secret",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Per-key throttling would cap the load generator, not measure Notify.
            "NOTIFY_API_RATE": "",
            "NOTIFY_SEND_CONCURRENCY": str(self.cfg.send_threads),
            "NOTIFY_PUBLIC_URL": self.url,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        for key in ("CELERY_BROKER_URL", "NOTIFY_BATCH_SIZE", "NOTIFY_DRAIN_BUDGET_SECONDS"):
            self.env.pop(key, None)
        self.db = psycopg2.connect(database_url)
        self.db.autocommit = True

    def _claim_redis(self) -> None:
        """Before anything is dropped: refuse to run beside another live bench run (it would
        lose its database and queues), and warn when someone else's keys are in ours."""
        assert self.redis is not None
        owner = self.redis.get(_OWNER_KEY)
        pid = int(owner) if owner and owner.isdigit() else 0
        if pid and pid != os.getpid() and psutil.pid_exists(pid):
            raise RuntimeError(f"another bench run (pid {pid}) is using Redis db {REDIS_DB}")
        if not owner and (keys := self.redis.dbsize()):
            self.say(
                f"warning: Redis database {REDIS_DB} already holds {keys} keys the bench did "
                "not write; is something else using it? (BENCH_REDIS_DB picks another)"
            )
        self.redis.set(_OWNER_KEY, os.getpid())

    def prepare_django(self) -> None:
        self._manage("migrate", "--noinput", "-v", "0")
        out = self._manage("create_api_key", "bench", capture=True)
        self.api_key = [line for line in out.splitlines() if line.strip()][-1].strip()

    def _manage(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "manage.py", *args],
            cwd=SOURCE.path,
            env={**self.env, "PYTHONPATH": str(SOURCE.path)},
            check=True,
            capture_output=capture,
            text=True,
            timeout=300,
        )
        return result.stdout or ""

    def start_sandboxes(self) -> Sandboxes:
        self.sandboxes = Sandboxes.start(self.log_dir, self.cfg.latency_ms)
        self.env.update(self.sandboxes.channel_env())
        return self.sandboxes

    def start_web(self, **options: Any) -> procs.Proc:
        sized = {"workers": self.cfg.web_workers, "threads": self.cfg.web_threads}
        options = {**sized, "extra": ["--backlog", "2048"], "ready_timeout": 60, **options}
        return super().start_web(**options)

    def start_beat(self, *, loglevel: str = "warning") -> procs.Proc:
        return super().start_beat(loglevel=loglevel)

    def start_workers(self, layout: Layout, extra_env: dict[str, str] | None = None) -> None:
        self.stop_workers()
        env = {**self.env, **(extra_env or {})}
        specs: list[tuple[str, int, list[str]]] = [
            (f"worker{i + 1}", layout.concurrency, []) for i in range(layout.workers)
        ]
        specs += [
            (f"urgent{i + 1}", layout.urgent_concurrency, ["-Q", "urgent"])
            for i in range(layout.urgent_workers)
        ]
        for name, concurrency, queues in specs:
            self._worker(name, concurrency, queues, env, wait=False)
        for proc in self.workers:
            wait_for(partial(harness.worker_ready, proc), timeout=60, what=f"celery {proc.name}")

    def start_naive_workers(self, concurrency: int) -> None:
        """The baseline's worker: one task per delivery, from bench/naive.py only."""
        self.stop_workers()
        extra = ["-I", "bench.naive", "-Q", "naive", "--max-tasks-per-child", "1000000"]
        self._worker("naive", concurrency, extra, self.env, wait=True, ready_timeout=90)

    def _worker(
        self,
        name: str,
        concurrency: int,
        extra: list[str],
        env: dict[str, str],
        *,
        wait: bool,
        ready_timeout: float = 60,
    ) -> Proc:
        proc = self.start_worker(
            name,
            concurrency=concurrency,
            node=f"{name}@bench",
            extra=extra,
            env=env,
            wait=wait,
            ready_timeout=ready_timeout,
        )
        assert isinstance(proc, Proc)
        return proc

    def stop_workers(self, timeout: float = 30.0) -> None:
        super().stop_workers(timeout)

    # --- between phases -----------------------------------------------------------------
    def sql(self, query: str, params: object = None) -> list[tuple[Any, ...]]:
        assert self.db is not None
        with self.db.cursor() as cursor:
            cursor.execute(query, params)
            return list(cursor.fetchall()) if cursor.description else []

    def insert_backlog(self, deliveries: int) -> None:
        """bench/backlog.py, run against the code under test."""
        subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "bench.backlog", str(deliveries)],
            cwd=SOURCE.path,
            env={**self.env, "PYTHONPATH": str(SOURCE.path)},
            check=True,
            timeout=600,
        )
        self.sql("ANALYZE notify_delivery")

    def pending(self) -> int:
        return int(self.sql("SELECT count(*) FROM notify_delivery WHERE status = 'pending'")[0][0])

    def reset_data(self) -> None:
        """Empty the bench tables, queues and Notify's Redis keys, and the stand-ins' records,
        so each phase starts from the same state (the API key stays)."""
        self.sql("SET lock_timeout = '20s'")
        # CASCADE: tables added later that point at these (preferences, ...) are emptied too.
        self.sql(f"TRUNCATE {', '.join(_TABLES)} CASCADE")
        assert self.redis is not None
        keys = list(self.redis.scan_iter("notify:*", count=1000))
        if keys:
            self.redis.delete(*keys)
        self.redis.delete(*_QUEUES)
        self.sql("VACUUM ANALYZE notify_delivery")
        if self.sandboxes is not None:
            self.sandboxes.clear()

    def wait_idle(self, timeout: float) -> float:
        """Wait until nothing is pending or sending; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            (left,) = self.sql(
                "SELECT count(*) FROM notify_delivery WHERE status IN ('pending', 'sending')"
            )[0]
            if left == 0:
                break
            time.sleep(0.5)
        return time.monotonic() - started

    def stop(self) -> None:
        super().stop()
        if self.sandboxes is not None:
            self.sandboxes.stop()
        if self.db is not None:
            self.db.close()
        if self.redis is not None:
            # Only our own claim (a run refused at start must not free the other run's). The
            # key stays, marked free: the database is still the bench's, keys and all.
            with contextlib.suppress(redis.RedisError):
                if self.redis.get(_OWNER_KEY) == str(os.getpid()).encode():
                    self.redis.set(_OWNER_KEY, "free")
        if self.services is not None:
            self.services.stop()


def _recreate_database(admin_url: str) -> None:
    """A new, empty notify_bench every run: its schema then matches the code under test even
    when migrations were added or rewritten since the last run."""
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        conn.close()
