"""The outbox engine's own rules, with a scripted stream (tests/services/outbox/scripted.py):
slots, claims, waits, wakes, threads, stopping. test_engine.py drives the same engine with the
real DeliveryStream; test_engine_failures.py covers claims, sends and writes that fail."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import redis

from notify.services.outbox.doorbell import bell_key, wake_key
from notify.services.outbox.engine import Dispatcher
from tests.harness import wait_for
from tests.services.outbox.scripted import Scripted


def test_a_claim_told_to_wait_comes_back_when_the_wait_is_over(run: Any) -> None:
    stream = Scripted()
    stream.add("a")
    stream.wait = 1.0  # e.g. the provider's rate limit
    dispatcher = run(stream)
    dispatcher.wake("scripted")
    wait_for(lambda: stream.claims, timeout=5, what="the first claim")
    time.sleep(0.3)
    assert len(stream.claims) == 1  # not asked again before the wait is over

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
    assert [items for _, items in second.claims] == [["z"]]  # never asked to claim into no room


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


def test_only_urgent_streams_may_use_the_reserved_slots(run: Any) -> None:
    standard, urgent = Scripted("standard", limit=10), Scripted("urgent", limit=10)
    urgent.urgent = True
    for stream in (standard, urgent):
        stream.add(*"abcde")
        stream.held = set("abcde")
    dispatcher = run(standard, urgent, capacity=2, reserve=2)

    dispatcher.wake("standard")
    wait_for(lambda: standard.claims, timeout=5, what="the standard claim")
    dispatcher.wake("urgent")
    wait_for(lambda: urgent.claims, timeout=5, what="the urgent claim")

    assert [items for _, items in standard.claims] == [["a", "b"]]  # the capacity only
    assert [items for _, items in urgent.claims] == [["a", "b"]]  # the reserve, beside it
    standard.release.set()
    urgent.release.set()


def test_a_claim_takes_at_most_one_batch(run: Any, settings: Any) -> None:
    settings.NOTIFY_BATCH_SIZE = 2
    stream = Scripted(limit=10)
    stream.add(*"abcde")
    dispatcher = run(stream, capacity=8)

    dispatcher.wake("scripted")

    wait_for(lambda: len(stream.outcomes()) == 5, timeout=5, what="every outcome")
    assert max(len(items) for _, items in stream.claims) == 2


def test_the_wake_listener_hears_urgent_streams_first(run: Any, redis_db: redis.Redis) -> None:
    order: list[str] = []

    class Ordered(Scripted):
        def claim(self, room: int) -> Any:
            order.append(self.name)
            return super().claim(room)

    # Named so that sorting by name would put the standard stream first.
    standard, urgent = Ordered("a-standard"), Ordered("b-urgent")
    urgent.urgent = True
    standard.add("s")
    urgent.add("u")
    redis_db.delete(wake_key("a-standard"), wake_key("b-urgent"))
    redis_db.lpush(wake_key("a-standard"), 1)
    redis_db.lpush(wake_key("b-urgent"), 1)

    run(standard, urgent)

    wait_for(lambda: len(order) >= 2, timeout=5, what="both claims")
    assert order[0] == "b-urgent"


def test_a_claim_that_takes_all_there_is_recruits_no_other_process(
    run: Any, redis_db: redis.Redis
) -> None:
    stream = Scripted(name="recruiting", limit=2)
    stream.add("a", "b")  # exactly the room: nothing is left for another process
    redis_db.set(bell_key("recruiting"), 1, px=60_000)
    dispatcher = run(stream, capacity=2)

    dispatcher.wake("recruiting")

    wait_for(lambda: len(stream.outcomes()) == 2, timeout=5, what="both sends")
    assert redis_db.pttl(bell_key("recruiting")) > 2000  # no forced ring re-armed the bell


def test_every_slot_is_a_send_thread_of_its_own(run: Any) -> None:
    """A full claim's sends all run at once, on the dispatcher's own named send threads:
    capacity plus reserve threads, not a default pool sized by the machine's CPUs."""
    stream = Scripted(limit=12)
    stream.add(*"abcdefghijkl")
    stream.held = set("abcdefghijkl")
    dispatcher = run(stream, capacity=12)

    dispatcher.wake("scripted")

    wait_for(lambda: len(stream.sending) == 12, timeout=5, what="twelve sends at once")
    stream.release.set()
    assert {name.split("_")[0] for name in stream.send_threads} == {"send"}


def test_stop_waits_for_every_send_in_flight_and_writes_their_outcomes(run: Any) -> None:
    stream = Scripted(limit=2)
    stream.add("a", "b")
    stream.held, stream.held_later = {"a"}, {"b"}
    dispatcher = run(stream)
    dispatcher.wake("scripted")
    wait_for(lambda: stream.sending == {"a", "b"}, timeout=5, what="both sends under way")

    stopper = threading.Thread(target=dispatcher.stop, args=(5,))
    stopper.start()
    time.sleep(0.1)  # stopping, with both sends in flight
    stream.release.set()  # one ends; the dispatcher must keep waiting for the other
    time.sleep(0.1)
    stream.release_later.set()
    stopper.join(10)

    assert stream.outcomes() == {"a": 1, "b": 1}


def test_a_stopping_dispatcher_claims_nothing_more_not_even_urgent_work(run: Any) -> None:
    stream = Scripted("urgent", limit=1)
    stream.urgent = True
    stream.add("a", "b")
    stream.held = {"a"}
    dispatcher = run(stream, capacity=1)
    dispatcher.wake("urgent")
    wait_for(lambda: stream.sending == {"a"}, timeout=5, what="the send under way")

    stopper = threading.Thread(target=dispatcher.stop, args=(5,))
    stopper.start()
    time.sleep(0.1)
    stream.release.set()  # a's slot frees while stopping; b is due but not claimed
    stopper.join(10)

    assert [items for _, items in stream.claims] == [["a"]]
    assert stream.outcomes() == {"a": 1}
