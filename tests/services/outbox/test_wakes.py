"""The listening side of the doorbell against the real Redis: a ring reaches the dispatcher's
wake callback, urgent lists are served first, the bell is cleared so the next commit rings
again, and a Redis outage is survived until the listener is told to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from notify.redis_client import redis_client
from notify.services.outbox.doorbell import bell_key, stream_ring, wake_key
from notify.services.outbox.wakes import wakes_listen
from tests.harness import wait_for

URGENT, STANDARD = "wakes-test:urgent", "wakes-test:standard"


@pytest.fixture
def client(redis_db: redis.Redis) -> redis.Redis:
    for name in (URGENT, STANDARD):
        redis_db.delete(bell_key(name), wake_key(name))
    return redis_db


@pytest.fixture
def listen() -> Iterator[Callable[[list[str]], list[str]]]:
    """Start a listener thread over `streams`; returns the list its wakes are appended to."""
    stopping = threading.Event()
    threads: list[threading.Thread] = []

    def start(streams: list[str]) -> list[str]:
        woken: list[str] = []
        thread = threading.Thread(target=wakes_listen, args=(streams, woken.append, stopping))
        thread.start()
        threads.append(thread)
        return woken

    yield start
    stopping.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()


def test_a_ring_wakes_the_stream_and_clears_its_bell(client: redis.Redis, listen: Any) -> None:
    woken = listen([URGENT, STANDARD])

    assert stream_ring(STANDARD) is True
    wait_for(lambda: woken == [STANDARD], timeout=10, what="the wake")

    assert client.llen(wake_key(STANDARD)) == 0
    assert not client.exists(bell_key(STANDARD))
    # The bell is clear, so the next commit rings (and wakes) again.
    assert stream_ring(STANDARD) is True
    wait_for(lambda: woken == [STANDARD, STANDARD], timeout=10, what="the second wake")


def test_urgent_wake_lists_are_served_first(client: redis.Redis, listen: Any) -> None:
    stream_ring(STANDARD)
    stream_ring(URGENT)

    woken = listen([URGENT, STANDARD])

    wait_for(lambda: len(woken) == 2, timeout=10, what="both wakes")
    assert woken == [URGENT, STANDARD]


def test_an_unreachable_redis_is_retried_until_stopped(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    stopping = threading.Event()
    woken: list[str] = []
    thread = threading.Thread(target=wakes_listen, args=([STANDARD], woken.append, stopping))
    with caplog.at_level(logging.WARNING, logger="notify.services.outbox.wakes"):
        thread.start()
        wait_for(lambda: caplog.records, timeout=10, what="the warning")
        assert thread.is_alive()  # still trying
        stopping.set()
        thread.join(10)
    assert not thread.is_alive() and woken == []
    assert caplog.records[0].getMessage() == "outbox: wake list unavailable; retrying"
    redis_client().ping()  # the shared client was never pointed elsewhere
