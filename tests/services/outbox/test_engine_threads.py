"""The outbox engine's own rules, with a scripted stream (the Stream protocol over a list):
what the dispatcher does when a claim fails, a send raises, a write of outcomes fails, or a
claim says to wait. test_engine.py drives the same engine with the real DeliveryStream."""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from notify.observability.jsonlogs import log_context
from notify.services.outbox.doorbell import bell_key
from notify.services.outbox.engine import Claimed, Dispatcher
from tests.harness import wait_for


class Scripted:
    """Items are strings; a claim takes up to `room` of them under a new token."""

    urgent = False

    def __init__(self, name: str = "scripted", limit: int = 4) -> None:
        self.name, self.limit = name, limit
        self.lock = threading.Lock()
        self.pending: list[str] = []
        self.claims: list[tuple[int, list[str]]] = []
        self.recorded: list[tuple[int, str, str]] = []
        self.claim_errors = 0
        self.wait = 0.0
        self.raises: set[str] = set()
        self.held: set[str] = set()  # sends of these wait for `release`
        self.release = threading.Event()
        self.record_errors: dict[int, int] = {}
        self._tokens = itertools.count(1)
        self.log_streams: list[str | None] = []  # the log context's stream, seen by each send

    def add(self, *items: str) -> None:
        with self.lock:
            self.pending += items

    def claim(self, room: int) -> Claimed:
        with self.lock:
            if self.claim_errors:
                self.claim_errors -= 1
                raise RuntimeError("Postgres is restarting")
            if self.wait:
                self.claims.append((0, []))
                return Claimed(wait=self.wait)
            items, self.pending = self.pending[:room], self.pending[room:]
            token = next(self._tokens)
            self.claims.append((token, items))
            return Claimed(items=items, token=token, more=bool(self.pending))

    def send(self, item: str) -> str:
        self.log_streams.append(log_context().get("stream"))
        if item in self.raises:
            raise RuntimeError("the stream's own guard failed")
        if item in self.held:
            self.release.wait(5)
        return f"sent {item}"

    def record(self, done: list[tuple[Any, Any, Any]]) -> None:
        with self.lock:
            self.log_streams.append(log_context().get("stream"))
            token = done[0][0]
            if self.record_errors.get(token):
                self.record_errors[token] -= 1
                raise RuntimeError("Postgres is away")
            self.recorded += done

    def outcomes(self) -> dict[str, int]:
        with self.lock:
            return {item: token for token, item, _ in self.recorded}


@pytest.fixture
def run() -> Iterator[Any]:
    started: list[Dispatcher] = []

    def start(*streams: Scripted, capacity: int = 8) -> Dispatcher:
        dispatcher = Dispatcher(streams, capacity=capacity, reserve=0)
        dispatcher.start()
        started.append(dispatcher)
        return dispatcher

    yield start
    for dispatcher in started:
        dispatcher.stop(timeout=5)


def test_a_claim_that_fails_is_tried_again_without_another_wake(run: Any) -> None:
    stream = Scripted()
    stream.add("a")
    stream.claim_errors = 1
    dispatcher = run(stream)

    dispatcher.wake("scripted")

    wait_for(lambda: stream.outcomes() == {"a": 1}, timeout=5, what="the retried claim")


def test_a_write_that_fails_is_retried_and_holds_back_no_other_claims(
    run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Scripted(limit=1)
    stream.add("a", "b", "c")
    stream.record_errors = {1: 2}  # the first claim's outcomes fail twice
    dispatcher = run(stream)

    with caplog.at_level(logging.ERROR, logger="notify.services.outbox.engine"):
        dispatcher.wake("scripted")
        wait_for(lambda: len(stream.outcomes()) == 3, timeout=10, what="every outcome")

    failures = [r for r in caplog.records if r.name == "notify.services.outbox.engine"]
    assert [r.getMessage() for r in failures] == [
        "outbox: recording 1 outcomes on scripted failed"
    ] * 2
    assert all(r.exc_info and str(r.exc_info[1]) == "Postgres is away" for r in failures)
    # Sends and writes log with their stream.
    assert set(stream.log_streams) == {"scripted"}
    order = [item for _, item, _ in stream.recorded]
    assert order == ["b", "c", "a"]  # a waited for its retries; b and c did not wait for a
    assert stream.outcomes() == {"a": 1, "b": 2, "c": 3}  # each under its own claim's token
    assert [r for _, _, r in stream.recorded] == ["sent b", "sent c", "sent a"]


def test_a_send_that_raises_frees_its_slot_and_is_left_to_the_lease(
    run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Scripted(limit=2)
    stream.add("a", "bad", "c")
    stream.raises = {"bad"}
    dispatcher = run(stream)
    with caplog.at_level(logging.ERROR, logger="notify.services.outbox.engine"):
        dispatcher.wake("scripted")
        wait_for(lambda: set(stream.outcomes()) == {"a", "c"}, timeout=5, what="the good sends")
    [record] = [r for r in caplog.records if r.name == "notify.services.outbox.engine"]
    assert record.getMessage() == "outbox: send on scripted raised"
    assert record.exc_info and str(record.exc_info[1]) == "the stream's own guard failed"
    # Whatever a send or a write logs carries the stream it belongs to.
    assert set(stream.log_streams) == {"scripted"}

    stream.add("d", "e")  # both slots are free again
    dispatcher.wake("scripted")

    wait_for(lambda: {"d", "e"} <= set(stream.outcomes()), timeout=5, what="the next claim")
    assert "bad" not in stream.outcomes()
    assert [items for _, items in stream.claims if items][-1] == ["d", "e"]


def test_a_claim_told_to_wait_comes_back_when_the_wait_is_over(run: Any) -> None:
    stream = Scripted()
    stream.add("a")
    stream.wait = 0.2  # e.g. the provider's rate limit
    dispatcher = run(stream)
    dispatcher.wake("scripted")
    wait_for(lambda: stream.claims, timeout=5, what="the first claim")

    stream.wait = 0.0

    wait_for(lambda: stream.outcomes() == {"a": 1}, timeout=5, what="the claim after the wait")


def test_a_paused_stream_waits_for_a_wake_not_a_timer(run: Any) -> None:
    stream = Scripted()
    stream.add("a")
    stream.wait = math.inf  # an operator's pause: the resume rings
    dispatcher = run(stream)
    dispatcher.wake("scripted")
    wait_for(lambda: stream.claims, timeout=5, what="the first claim")
    stream.wait = 0.0

    dispatcher.wake("scripted")  # the operator's resume

    wait_for(lambda: stream.outcomes() == {"a": 1}, timeout=5, what="the claim after resume")
    assert len(stream.claims) == 2


def test_a_stream_claims_again_as_sends_complete_while_more_is_due(run: Any) -> None:
    stream = Scripted(limit=2)
    stream.add(*"abcdefg")
    dispatcher = run(stream)

    dispatcher.wake("scripted")  # one wake for the whole backlog

    wait_for(lambda: len(stream.outcomes()) == 7, timeout=5, what="the whole backlog")
    assert all(len(items) <= 2 for _, items in stream.claims)


def test_a_claim_takes_no_more_than_the_process_has_slots_for(run: Any) -> None:
    stream = Scripted(limit=4)
    stream.add(*"abcde")
    dispatcher = run(stream, capacity=3)

    dispatcher.wake("scripted")

    wait_for(lambda: len(stream.outcomes()) == 5, timeout=5, what="every outcome")
    assert stream.claims[0][1] == ["a", "b", "c"]


def test_each_completed_send_frees_exactly_its_slot(run: Any) -> None:
    """Counted right, the slots bound every later claim, and stop() finds nothing left in
    flight: the dispatcher ends instead of waiting out its timeout for sends that are done."""
    stream = Scripted(limit=10)
    stream.add(*"abcdef")
    before = set(threading.enumerate())
    dispatcher = run(stream, capacity=2)
    threads = [t for t in threading.enumerate() if t not in before]

    dispatcher.wake("scripted")

    wait_for(lambda: len(stream.outcomes()) == 6, timeout=5, what="every outcome")
    assert all(len(items) <= 2 for _, items in stream.claims)
    dispatcher.stop(timeout=5)
    assert [t.name for t in threads if t.is_alive()] == []


def test_a_stream_woken_while_the_slots_are_full_is_served_when_a_slot_frees(run: Any) -> None:
    first, second = Scripted("first", limit=4), Scripted("second", limit=4)
    first.add(*"abc")
    first.held = {"a", "b", "c"}
    second.add("z")
    dispatcher = run(first, second, capacity=3)
    dispatcher.wake("first")
    wait_for(lambda: first.claims, timeout=5, what="the first stream's claim")
    dispatcher.wake("second")  # rung while the first stream holds every slot
    # Let the dispatcher find no room for it before the slots free: otherwise the wake and the
    # completions can arrive together and the "starved" path is never taken. (A slow machine
    # only makes the test weaker, never wrong.)
    time.sleep(0.3)
    first.release.set()

    wait_for(lambda: second.outcomes() == {"z": 1}, timeout=3, what="the second stream's send")


def test_stop_gives_up_on_a_hung_send_after_its_timeout(run: Any) -> None:
    """A provider call that never returns must not keep a worker from shutting down: the
    item stays unrecorded, and its lease lets the sweeper settle it."""
    stream = Scripted()
    stream.add("hung")
    stream.held = {"hung"}
    dispatcher = run(stream)
    dispatcher.wake("scripted")
    wait_for(lambda: stream.claims, timeout=5, what="the claim")
    stopping = threading.Thread(target=dispatcher.stop, kwargs={"timeout": 0.2})

    stopping.start()
    stopping.join(3)

    finished = not stopping.is_alive()
    stream.release.set()  # let the send thread end with the test
    assert finished
    assert stream.outcomes() == {}


def test_a_dispatcher_is_alive_only_between_start_and_stop(run: Any) -> None:
    assert Dispatcher([Scripted()], capacity=1, reserve=0).alive() is False  # never started
    dispatcher = run(Scripted())
    assert dispatcher.alive() is True
    dispatcher.stop(timeout=5)
    assert dispatcher.alive() is False  # the worker process starts a new one


def test_a_claim_that_fills_every_slot_while_more_is_due_wakes_another_process(
    run: Any, redis_db: redis.Redis
) -> None:
    stream = Scripted(name="recruiting", limit=2)
    stream.add("a", "b", "c", "d")
    stream.held = {"a", "b"}
    # A lost token's bell key still debounces the stream: only a forced ring gets through,
    # pushing a token for another process and re-arming the bell for its short debounce.
    redis_db.set(bell_key("recruiting"), 1, px=60_000)
    dispatcher = run(stream, capacity=2)

    dispatcher.wake("recruiting")

    wait_for(lambda: stream.claims, timeout=5, what="the first claim")
    wait_for(
        lambda: redis_db.pttl(bell_key("recruiting")) <= 2000,
        timeout=5,
        what="the forced ring that recruits another process",
    )
    stream.release.set()
    wait_for(lambda: len(stream.outcomes()) == 4, timeout=5, what="every send")


def test_a_started_dispatcher_runs_two_named_daemon_threads(run: Any) -> None:
    """Named for `py-spy dump` and thread listings; daemons, so that a worker process that
    exits without stopping them is not held open by them."""
    before = set(threading.enumerate())
    run(Scripted())
    started = [t for t in threading.enumerate() if t not in before]
    assert sorted(t.name for t in started) == ["outbox", "outbox-wake"]
    assert all(t.daemon for t in started)


def test_an_idle_dispatcher_sleeps_instead_of_spinning(run: Any) -> None:
    """A worker with nothing to do must not burn a core: the dispatcher thread waits for a
    wake, a completion or a deadline. (CPU used, not time taken: a loaded machine makes a
    spinning thread use less of it, never a sleeping one more.)"""
    run(Scripted())
    time.sleep(0.2)
    before = time.process_time()
    time.sleep(1.0)
    assert time.process_time() - before < 0.3
