from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg2
import pytest
import redis

from notify.stack.embedded_postgres import EmbeddedPostgres
from notify.stack.embedded_redis import EmbeddedRedis
from notify.stack.procs import free_port
from notify.stack.resolve import LocalAddresses, local_postgres_error, mask, resolve, running
from tests.stack.conftest import gone

# Ports where nothing listens, so the "local server" step is tried and fails fast.
NOWHERE = LocalAddresses(postgres=("127.0.0.1", free_port()), redis=("127.0.0.1", free_port()))


def test_urls_from_the_environment_win(tmp_path: Path) -> None:
    said: list[str] = []
    env = {"DATABASE_URL": "postgres://app:s3cret@db:5432/notify", "REDIS_URL": "redis://r:6379/2"}

    services = resolve(env, tmp_path, said.append, NOWHERE)

    assert services.env() == env
    assert services.embedded == []
    assert "postgres: DATABASE_URL from the environment (postgres://app:***@db:5432/notify)" in said
    assert not any("s3cret" in line for line in said)
    assert not (tmp_path / "postgres").exists()


def test_a_redis_answering_on_localhost_is_used(tmp_path: Path) -> None:
    local = EmbeddedRedis(tmp_path / "local-redis")
    local.start()
    port = int(local.url.rsplit(":", 1)[1].split("/")[0])
    said: list[str] = []
    try:
        services = resolve(
            {"DATABASE_URL": "postgres://x@db/notify"},
            tmp_path,
            said.append,
            LocalAddresses(redis=("127.0.0.1", port)),
        )
    finally:
        local.stop()

    assert services.redis_url == f"redis://127.0.0.1:{port}/0"
    assert f"redis: local server at 127.0.0.1:{port}" in said
    assert services.embedded == []


@pytest.mark.skipif(
    local_postgres_error("127.0.0.1", 5432) is not None,
    reason="no Postgres accepting user postgres on 127.0.0.1:5432",
)
def test_a_postgres_answering_on_localhost_is_used_and_gets_the_database(tmp_path: Path) -> None:
    said: list[str] = []

    services = resolve({"REDIS_URL": "redis://r/0"}, tmp_path, said.append)

    assert services.database_url == "postgres://postgres@127.0.0.1:5432/notify"
    conn = psycopg2.connect(services.database_url, connect_timeout=2)
    conn.close()
    assert services.embedded == []


def test_notify_embedded_starts_real_servers_and_stops_them(tmp_path: Path) -> None:
    said: list[str] = []
    started = time.monotonic()

    with running({"NOTIFY_EMBEDDED": "1"}, tmp_path, said.append) as services:
        elapsed = time.monotonic() - started
        assert services.database_url.startswith("postgresql://postgres:@/notify?host=")
        conn = psycopg2.connect(services.database_url)
        with conn.cursor() as cur:
            cur.execute("SELECT 1, current_database()")
            assert cur.fetchone() == (1, "notify")
        conn.close()
        client = redis.Redis.from_url(services.redis_url, decode_responses=True)
        assert client.ping() is True
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        postgres_pid = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])
        redis_pid = int((tmp_path / "redis" / "redis.pid").read_text())

    assert elapsed < 20
    assert any(line.startswith("postgres: embedded (pgserver)") for line in said)
    assert any(line.startswith("redis: embedded redis-server") for line in said)
    assert gone(postgres_pid)
    assert gone(redis_pid)
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_an_unreachable_local_server_falls_back_to_embedded(tmp_path: Path) -> None:
    said: list[str] = []

    with running({"DATABASE_URL": "postgres://x@db/notify"}, tmp_path, said.append, NOWHERE) as s:
        assert redis.Redis.from_url(s.redis_url).ping() is True

    assert any(
        line.startswith(f"redis: nothing usable at 127.0.0.1:{NOWHERE.redis[1]}") for line in said
    )


def test_a_running_embedded_server_is_reused_and_left_to_its_owner(tmp_path: Path) -> None:
    env = {"NOTIFY_EMBEDDED": "1", "DATABASE_URL": "postgres://x@db/notify"}
    with running(env, tmp_path, lambda _: None) as first:
        said: list[str] = []
        with running(env, tmp_path, said.append) as second:
            assert second.redis_url == first.redis_url
        assert any("already running (reused" in line for line in said)
        assert redis.Redis.from_url(first.redis_url).ping() is True


def test_embedded_postgres_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    conn = psycopg2.connect(server.start())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
    conn.close()
    server.stop()
    assert not server.alive()

    again = EmbeddedPostgres(tmp_path / "pg")
    started = time.monotonic()
    conn = psycopg2.connect(again.start())
    restart = time.monotonic() - started
    with conn.cursor() as cur:
        cur.execute("SELECT x FROM kept")
        assert cur.fetchone() == (42,)
    conn.close()
    again.stop()

    assert again.owned
    assert restart < 10


def test_a_stale_lock_file_from_a_crash_does_not_block_the_start(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    server.start()
    server.stop()
    # After a reboot the old postmaster's pid may belong to any process, e.g. this one.
    lock = tmp_path / "pg" / "postmaster.pid"
    lock.write_text(f"{os.getpid()}\n{tmp_path / 'pg'}\n0\n5432\n{tmp_path / 'pg'}\n\n0 0\nready\n")

    again = EmbeddedPostgres(tmp_path / "pg")
    conn = psycopg2.connect(again.start())
    conn.close()
    again.stop()

    assert again.owned


def test_mask_hides_only_the_password() -> None:
    assert mask("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert mask("postgres://u@h/db") == "postgres://u@h/db"
