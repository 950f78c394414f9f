"""Which Postgres and Redis the stack uses, in order of preference:

1. DATABASE_URL / REDIS_URL from the environment (production-like setups, CI services);
2. a server already listening on 127.0.0.1 (the usual developer machine);
3. an embedded server from a pip package, with its data under .data/ (a bare machine).

NOTIFY_EMBEDDED=1 skips step 2, so the embedded path can be exercised where local servers exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import redis

from notify.stack.embedded import EmbeddedServer
from notify.stack.embedded_postgres import DATABASE, EmbeddedPostgres, ensure_database
from notify.stack.embedded_redis import EmbeddedRedis, quick_redis

Say = Callable[[str], None]
Address = tuple[str, int]


@dataclass(frozen=True)
class LocalAddresses:
    """Where to look for already-running servers; tests point these elsewhere."""

    postgres: Address = ("127.0.0.1", 5432)
    redis: Address = ("127.0.0.1", 6379)


@dataclass
class Services:
    database_url: str = ""
    redis_url: str = ""
    embedded: list[EmbeddedServer] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}

    def dead(self) -> list[str]:
        """Embedded servers we started that are no longer running."""
        return [s.name for s in self.embedded if s.owned and not s.alive()]

    def stop(self) -> None:
        """Stop the embedded servers this process started (not ones it merely reused)."""
        for server in reversed(self.embedded):
            if server.owned:
                server.stop()


def forced_embedded(env: Mapping[str, str]) -> bool:
    return env.get("NOTIFY_EMBEDDED", "").lower() not in ("", "0", "false", "no")


def resolve(
    env: Mapping[str, str],
    data_dir: Path,
    say: Say,
    local: LocalAddresses | None = None,
) -> Services:
    local = local or LocalAddresses()
    resolver = _Resolver(env, data_dir, say, look_locally=not forced_embedded(env))
    if not resolver.look_locally:
        say("NOTIFY_EMBEDDED is set: not looking for servers on localhost")
    try:
        resolver.services.database_url = resolver.postgres(local.postgres)
        resolver.services.redis_url = resolver.redis(local.redis)
    except BaseException:
        resolver.services.stop()
        raise
    return resolver.services


@contextmanager
def running(
    env: Mapping[str, str], data_dir: Path, say: Say, local: LocalAddresses | None = None
) -> Iterator[Services]:
    """resolve(), and stop whatever was started on the way out, however we leave."""
    services = resolve(env, data_dir, say, local)
    try:
        yield services
    finally:
        services.stop()


@dataclass
class _Resolver:
    env: Mapping[str, str]
    data_dir: Path
    say: Say
    look_locally: bool
    services: Services = field(default_factory=Services)

    def postgres(self, address: Address) -> str:
        if self.env.get("DATABASE_URL"):
            url = self.env["DATABASE_URL"]
            self.say(f"postgres: DATABASE_URL from the environment ({mask(url)})")
            return url
        if self.look_locally:
            host, port = address
            error = local_postgres_error(host, port)
            if error is None:
                self.say(f"postgres: local server at {host}:{port}, database {DATABASE}")
                return f"postgres://postgres@{host}:{port}/{DATABASE}"
            self.say(f"postgres: nothing usable at {host}:{port} ({error})")
        server = EmbeddedPostgres(self.data_dir / "postgres")
        started = time.monotonic()
        url = server.start()
        self.services.embedded.append(server)
        self.say(
            f"postgres: embedded (pgserver) in {_show(server.pgdata)}, {_how(server, started)}"
        )
        return url

    def redis(self, address: Address) -> str:
        if self.env.get("REDIS_URL"):
            url = self.env["REDIS_URL"]
            self.say(f"redis: REDIS_URL from the environment ({mask(url)})")
            return url
        if self.look_locally:
            host, port = address
            error = local_redis_error(host, port)
            if error is None:
                self.say(f"redis: local server at {host}:{port}")
                return f"redis://{host}:{port}/0"
            self.say(f"redis: nothing usable at {host}:{port} ({error})")
        server = EmbeddedRedis(self.data_dir / "redis")
        started = time.monotonic()
        url = server.start()
        self.services.embedded.append(server)
        where = _show(server.data_dir)
        self.say(f"redis: embedded redis-server at {url} in {where}, {_how(server, started)}")
        return url


def local_postgres_error(host: str, port: int) -> str | None:
    """None if `postgres` can log in at host:port (creating the notify database if needed)."""
    try:
        ensure_database(f"host={host} port={port} user=postgres dbname=postgres", connect_timeout=2)
    except psycopg2.Error as exc:
        return _first_line(exc)
    return None


def local_redis_error(host: str, port: int) -> str | None:
    """None if a Redis server at host:port answers PING."""
    try:
        quick_redis(host, port, timeout=2).ping()
    except redis.RedisError as exc:
        return _first_line(exc)
    return None


def mask(url: str) -> str:
    """The URL with its password hidden, for printing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _how(server: EmbeddedServer, started: float) -> str:
    if server.owned:
        return f"started in {time.monotonic() - started:.1f}s"
    return "already running (reused, left running on exit)"


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
