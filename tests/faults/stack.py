"""A whole Notify deployment for fault tests: gunicorn, a Celery worker and beat, a private
Redis (append-only file on) that tests may kill, and Postgres behind a proxy that tests may
cut or pause. The provider sandbox is the suite's shared one."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from notify.stack.embedded_redis import redis_server_binary
from notify.stack.harness import Stack
from notify.stack.procs import Proc, free_port, wait_for
from tests.faults.proxy import FaultProxy


class PrivateRedis:
    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.dir = log_dir / f"redis-{self.port}"
        self.log_dir = log_dir
        self.proc: Proc | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(exist_ok=True)
        # The system's redis-server if there is one, else the one `make run` embeds.
        binary = shutil.which("redis-server") or redis_server_binary()
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
        ]
        self.proc = Proc(f"redis-{self.port}", args, {}, self.log_dir)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_for(lambda: _pings(client), timeout=10, what="private redis")

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is not None:
            if kill:
                self.proc.kill()
                self.proc.popen.wait(5)
            else:
                self.proc.stop()  # SIGTERM: Redis flushes its append-only file and exits
            self.proc = None

    def wipe(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


class FaultStack(Stack):
    def __init__(self, base_env: dict[str, str], log_dir: Path, db: dict[str, Any]) -> None:
        self.redis = PrivateRedis(log_dir)
        self.redis.start()
        self.pg = FaultProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env = {
            **base_env,
            "DATABASE_URL": f"postgres://{user}{password}@127.0.0.1:{self.pg.port}/{db['NAME']}",
            "REDIS_URL": self.redis.url,
            "NOTIFY_LEASE_SECONDS": "4",
            "NOTIFY_DIGEST_LEASE_SECONDS": "4",
            "NOTIFY_MAX_ATTEMPTS": "4",
            "NOTIFY_API_RATE": "",
            "DB_CONNECT_TIMEOUT": "2",
        }
        super().__init__(env, log_dir)

    def start(self) -> None:
        self.start_web(workers=2, threads=8, name=f"web-{self.web_port}")
        self.start_worker()
        self.start_beat()

    def start_worker(self, name: str = "", **options: Any) -> Proc:
        # A fresh name (log file and node) for each worker, so a restarted one is told apart.
        return super().start_worker(name or f"fault-worker-{time.time_ns()}", **options)

    def kill_worker_children(self) -> int:
        """kill -9 the pool processes, as the OOM killer would; the main process lives."""
        assert self.worker is not None
        killed = 0
        for child in psutil.Process(self.worker.popen.pid).children(recursive=True):
            try:
                child.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:  # it ended between the listing and the signal
                continue
            killed += 1
        return killed

    def kill_worker(self) -> None:
        """kill -9 the whole worker, main process included, with whatever it had reserved."""
        worker = self.workers.pop()
        worker.kill()
        worker.popen.wait(10)
        worker.stop()  # nothing left to signal: closes its log

    def stop(self) -> None:
        super().stop()
        self.redis.stop()
        self.pg.close()
