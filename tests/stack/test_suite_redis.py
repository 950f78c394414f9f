"""The test suite's Redis: a server of its own unless told which to use, so FLUSHDB in a test
never reaches anybody else's data (a developer's `make run`, another person's suite)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
import redis

from notify.stack import commands
from notify.stack.console import Console
from notify.stack.embedded_redis import throwaway_redis

ROOT = Path(__file__).resolve().parents[2]
# What a test process does with its Redis (tests/conftest.py's redis_db fixture): empty it.
CHILD = """
import os, redis, tests.settings
client = redis.Redis.from_url(os.environ["REDIS_URL"])
client.flushdb()
client.set("suite-key", 1)
print(os.environ["REDIS_URL"])
"""


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    """Stands in for the Redis on localhost that other people use: a key in every database."""
    with throwaway_redis() as url:
        client = redis.Redis.from_url(url)
        port = client.connection_pool.connection_kwargs["port"]
        for db in range(16):
            redis.Redis(port=port, db=db).set(f"someone-else:{db}", "precious")
        assert _untouched(client)
        yield client


def _suite_process(extra: Mapping[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_TEST_")}
    env = {k: v for k, v in env.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**env, **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def _untouched(shared: redis.Redis) -> bool:
    port = shared.connection_pool.connection_kwargs["port"]
    return all(
        redis.Redis(port=port, db=db).get(f"someone-else:{db}") == b"precious" for db in range(16)
    )


def test_unless_told_otherwise_the_suite_runs_its_own_redis(shared_redis: redis.Redis) -> None:
    shared_port = shared_redis.connection_pool.connection_kwargs["port"]

    url = _suite_process({"REDIS_URL": f"redis://127.0.0.1:{shared_port}/0"})

    own = redis.Redis.from_url(url, socket_connect_timeout=1)
    assert own.connection_pool.connection_kwargs["port"] != shared_port
    assert _untouched(shared_redis)
    # It lived as long as the test process: nothing is left running.
    with pytest.raises(redis.ConnectionError):
        own.ping()


def test_an_explicit_database_on_the_shared_redis_is_used_as_asked(
    shared_redis: redis.Redis,
) -> None:
    port = shared_redis.connection_pool.connection_kwargs["port"]

    url = _suite_process({"REDIS_URL": f"redis://127.0.0.1:{port}/0", "NOTIFY_TEST_REDIS_DB": "7"})

    assert url == f"redis://127.0.0.1:{port}/7"
    assert redis.Redis(port=port, db=7).get("suite-key") == b"1"
    assert redis.Redis(port=port, db=7).get("someone-else:7") is None  # flushed, as asked
    assert redis.Redis(port=port, db=6).get("someone-else:6") == b"precious"


def test_an_explicit_url_is_used_as_is(shared_redis: redis.Redis) -> None:
    port = shared_redis.connection_pool.connection_kwargs["port"]

    url = _suite_process({"NOTIFY_TEST_REDIS_URL": f"redis://127.0.0.1:{port}/3"})

    assert url == f"redis://127.0.0.1:{port}/3"


def test_make_test_gives_pytest_a_redis_of_its_own_and_stops_it(
    shared_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = shared_redis.connection_pool.connection_kwargs["port"]
    for name in ("NOTIFY_TEST_REDIS_URL", "NOTIFY_TEST_REDIS_DB"):
        monkeypatch.delenv(name, raising=False)
    # As resolve() finds it on a developer machine: the shared local servers.
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notify")
    monkeypatch.setattr(commands, "DATA", tmp_path)
    monkeypatch.setattr(commands, "check_commands", lambda root: [])
    monkeypatch.setattr(commands, "ensure_browser", lambda console: "")
    seen: list[str] = []

    def pytest_step(console: Console, argv: Sequence[str], env: Mapping[str, str]) -> int:
        seen.append(env["NOTIFY_TEST_REDIS_URL"])
        assert redis.Redis.from_url(seen[0]).ping()
        return 0

    monkeypatch.setattr(commands, "_step", pytest_step)

    assert commands.test(["-q"]) == 0
    own = redis.Redis.from_url(seen[0], socket_connect_timeout=1)
    assert own.connection_pool.connection_kwargs["port"] != port
    with pytest.raises(redis.ConnectionError):
        own.ping()
