from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from notify.services.access.apikeys import api_key_create
from tests.conftest import Stack
from tests.faults import invariants
from tests.faults.stack import FaultStack
from tests.harness import Sandbox

# Notifications per scenario: small for CI, larger on demand (FAULT_N=500 make faults).
N = int(os.environ.get("FAULT_N", "30"))


@pytest.fixture
def fault_stack(
    process_env: dict[str, str],
    log_dir: Path,
    sandbox: Sandbox,
    transactional_db: Any,
    request: pytest.FixtureRequest,
    _stack_session: Stack,
) -> Iterator[FaultStack]:
    # The e2e tests' worker and beat share the test database: they would quietly do this
    # stack's work (and survive its faults). Only the fault stack may run now.
    _stack_session.stop()
    stack = FaultStack(process_env, log_dir, settings.DATABASES["default"])
    request.node.fault_stack = stack
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


class Client:
    """An independent API client, over HTTP, as a calling backend would be."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=32)
        self.session.mount("http://", adapter)
        _, raw = api_key_create(name=f"faults-{uuid.uuid4().hex[:6]}")
        self.session.headers["Authorization"] = f"Bearer {raw}"

    def post(
        self, body: dict[str, Any], key: str | None = None, timeout: float = 30
    ) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.session.post(
            f"{self.url}/api/v1/notifications/", json=body, headers=headers, timeout=timeout
        )

    def burst(
        self, n: int, channels: tuple[str, ...] = ("email", "sms", "push"), tag: str = "b"
    ) -> list[str]:
        """n notifications, one per recipient, over every channel given; returns their ids."""

        def one(i: int) -> str:
            response = self.post(body(f"{tag}-{i}", channels))
            assert response.status_code == 202, response.text
            return str(response.json()["id"])

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(n)))


def body(user: str, channels: tuple[str, ...] = ("email", "sms", "push")) -> dict[str, Any]:
    recipient: dict[str, Any] = {"id": user}
    content: dict[str, Any] = {}
    if "email" in channels:
        recipient["email"] = f"{user}@example.com"
        content["email"] = {"subject": f"hello {user}", "text": "hi"}
    if "sms" in channels:
        recipient["phone"] = "+14155552671"
        content["sms"] = {"text": f"hello {user}"}
    if "push" in channels:
        recipient["push_tokens"] = [f"token-{user}"]
        content["push"] = {"title": f"hello {user}"}
    return {"recipient": recipient, "content": content}


@pytest.fixture
def client(fault_stack: FaultStack) -> Client:
    return Client(fault_stack.url)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    stack = getattr(item, "fault_stack", None)
    if report.when == "call" and report.failed and isinstance(stack, FaultStack):
        report.sections.append(("fault stack logs (tail)", stack.logs()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if invariants.REPORT:
        terminalreporter.write_sep("=", "fault scenarios: figures")
        terminalreporter.write_line(invariants.table())
        terminalreporter.write_line(
            "* duplicates: only where a worker died after the provider "
            "took the message (email/push); never SMS"
        )
