"""This process's dispatcher (outbox_process.py): built on the first wake, reused, and built
again after it was stopped; the dispatchers are the `engine` fixture's real ones."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Delivery
from notify.services.outbox.engine import Dispatcher
from notify.services.workers import outbox_process
from tests.harness import Sandbox, wait_for
from tests.services import rows


def _all_sent(items: list[Delivery]) -> bool:
    ids = [d.id for d in items]
    return Delivery.objects.filter(id__in=ids, status="sent").count() == len(ids)


def test_a_wake_starts_this_process_dispatcher_once_and_a_stopped_one_again(
    engine: Any, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        outbox_process._process, "factory", None
    )  # the worker's own, after the test
    built: list[Dispatcher] = []

    def factory() -> Dispatcher:
        built.append(engine(("email", "standard", 4), start=False))
        return built[-1]

    outbox_process.outbox_configure(factory)
    notification = rows.notification_for("u-process")
    first = rows.deliveries(notification, 1, to="first@example.com")

    outbox_process.outbox_wake("email:standard")
    wait_for(lambda: _all_sent(first), timeout=10, what="the first send")
    outbox_process.outbox_wake("email:standard")
    outbox_process.outbox_wake("no-such-stream")  # not served here: ignored
    assert len(built) == 1 and built[0].alive()

    outbox_process.outbox_stop(timeout=10)
    assert not built[0].alive()
    second = rows.deliveries(notification, 1, to="second@example.com")
    outbox_process.outbox_wake("email:standard")

    wait_for(lambda: _all_sent(second), timeout=10, what="the second send")
    assert len(built) == 2
    outbox_process.outbox_stop(timeout=10)
