from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import OperationalError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.backends.postgresql.operations import DatabaseOperations
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rest_framework.test import APIClient

from notify.models import ApiKey
from notify.observability.tracing import instrument, tracer_provider
from notify.services.access.apikeys import api_key_create
from notify.stack import harness
from tests.harness import Sandbox, start_sandbox


@pytest.fixture
def api_key(db: Any) -> tuple[ApiKey, str]:
    return api_key_create(name="tests")


@pytest.fixture
def api(api_key: tuple[ApiKey, str]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    return client


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("processes")


@pytest.fixture(scope="session")
def redis_db() -> redis.Redis:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    return client


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "")
    auth = f"{user}:{quote(db['PASSWORD'])}@" if db.get("PASSWORD") else f"{user}@"
    host = db.get("HOST") or ""
    if host.startswith("/"):  # a Unix socket directory (embedded Postgres)
        return f"postgres://{auth}/{db['NAME']}?host={quote(host)}"
    return f"postgres://{auth}{host}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def process_env(django_db_setup: Any, redis_db: redis.Redis) -> dict[str, str]:
    """The environment of every process the tests start: the test database and the
    settings tests/settings.py exported."""
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NOTIFY_TEST_CHILD": "1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def _sandbox_session(process_env: dict[str, str], log_dir: Path) -> Iterator[Sandbox]:
    proc, client = start_sandbox(process_env, log_dir)
    yield client
    proc.stop()


@pytest.fixture
def sandbox(_sandbox_session: Sandbox) -> Sandbox:
    _sandbox_session.reset()
    return _sandbox_session


class Stack(harness.Stack):
    """The background half of Notify — a Celery worker and beat — which a test may stop and
    start again (e.g. to flush Redis while nothing consumes)."""

    def ensure(self) -> None:
        worker = self.worker
        if worker is None or not worker.alive():
            self.stop_workers()
            self.start_worker()
        if self.beat is None or not self.beat.alive():
            self.start_beat()

    def logs(self, tail: int = 6000) -> str:
        return super().logs(tail)


@pytest.fixture(scope="session")
def _stack_session(
    process_env: dict[str, str], log_dir: Path, _sandbox_session: Sandbox
) -> Iterator[Stack]:
    stack = Stack(process_env, log_dir)
    _SHARED.append(stack)
    yield stack
    _SHARED.remove(stack)
    stack.stop()


_SHARED: list[Stack] = []


@pytest.fixture(autouse=True)
def _no_shared_worker_beside_a_truncate(request: pytest.FixtureRequest) -> None:
    """A test that empties the tables when it ends (`transactional_db`) without asking for the
    shared worker stops it first: a worker still claiming or sweeping in the test database
    holds locks that TRUNCATE deadlocks with, and would take the test's own rows. The next
    test that asks for `stack` starts it again."""
    names = request.fixturenames
    if "transactional_db" in names and "stack" not in names and "_stack_session" not in names:
        for stack in _SHARED:
            stack.stop()


@pytest.fixture(scope="session", autouse=True)
def _flush_retries_a_deadlock() -> Iterator[None]:
    """The shared worker keeps running through the end of a test that asked for it, so the
    table-emptying TRUNCATE can meet one of its claims halfway and Postgres ends one of the
    two as a deadlock. When TRUNCATE is the one ended, it runs again (the worker's
    transaction is short): the flush is the harness's work, not the test's."""
    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: BaseDatabaseOperations, sql_list: Iterable[str]) -> None:
        sql_list = list(sql_list)
        for attempt in range(5):
            try:
                return original(self, sql_list)
            except OperationalError as exc:
                if getattr(exc.__cause__, "pgcode", None) != "40P01" or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    yield
    DatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]


@pytest.fixture
def stack(
    _stack_session: Stack, sandbox: Sandbox, transactional_db: Any, redis_db: redis.Redis
) -> Stack:
    """A running worker and beat (shared across tests), a clean sandbox, and no provider
    pause or open circuit left over from an earlier test. Logs are attached to failures."""
    for pattern in ("notify:breaker:*", "notify:pause:*", "notify:rate:*"):
        for key in redis_db.scan_iter(pattern):
            redis_db.delete(key)
    _stack_session.ensure()
    return _stack_session


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        stack = getattr(item, "funcargs", {}).get("stack")
        if isinstance(stack, Stack):
            report.sections.append(("worker and beat logs (tail)", stack.logs()))


@pytest.fixture
def web_spans() -> Iterator[InMemorySpanExporter]:
    """This process traced as the web server is, into memory; undone afterwards."""
    exporter = InMemorySpanExporter()
    provider = tracer_provider("notify-web", SimpleSpanProcessor(exporter))
    instrumentors = instrument(provider, django=True)
    yield exporter
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    provider.shutdown()
