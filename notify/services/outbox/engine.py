"""The outbox engine: one dispatcher per worker process keeps a bounded number of sends in
flight across every stream it serves (each channel's urgent and standard lane, outbound
webhooks) and refills from Postgres claims as sends complete — pipelined, not in rounds.

- A stream is woken by a token on its Redis wake list
  (notify/services/outbox/doorbell.py), taken by a listener thread (wakes.py), or by a
  Celery drain task; the dispatcher thread claims at once.
- Claims are sized by the room left: a stream may have `limit` sends in flight in this
  process, and standard streams share NOTIFY_SEND_CONCURRENCY slots while urgent streams may
  also use NOTIFY_URGENT_RESERVE more, so a slow provider or a bulk backlog never takes the
  slots a critical message needs. Under load claims wait until half of a stream's room
  is free, so a backlog goes out in batches and an idle system claims one message at once.
- Outcomes are written by the dispatcher thread in groups (every 25 results or 50 ms), under
  each claim's fencing token; what a stream does with a claim, a send and an outcome is its
  own business (delivering/sending.py, webhooks/delivery.py, digests/flush.py).
- One dispatcher per worker process: outbox_process.py.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.db import close_old_connections

from notify.observability.jsonlogs import bound
from notify.services.outbox.doorbell import stream_ring
from notify.services.outbox.wakes import wakes_listen

logger = logging.getLogger(__name__)

_LOST = object()


def backoff_delay(*, attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempts-1))),
    so retries after a shared outage spread out instead of arriving together."""
    return random.uniform(0, min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass
class Claimed:
    """What a claim took: items to send under `token`; `more` when it took all it asked for
    (so more may be due: claim again as sends complete); or how long nothing may be taken
    (`wait` > 0: rate limit, open circuit; math.inf: paused until an operator resumes)."""

    items: list[Any] = field(default_factory=list)
    token: Any = None
    wait: float = 0.0
    more: bool = False


class Stream(Protocol):
    name: str
    limit: int
    urgent: bool

    def claim(self, room: int) -> Claimed: ...

    def send(self, item: Any) -> Any:
        """Runs on a send thread; must not raise (errors are results)."""

    def record(self, done: list[tuple[Any, Any, Any]]) -> None:
        """Write back (token, item, result) triples; runs on the dispatcher thread."""


@dataclass
class _State:
    stream: Stream
    in_flight: int = 0
    # The last claim may have left work behind: completions trigger the next claim. When it
    # did not, new work rings (doorbell.py), so no claim is needed until then.
    busy: bool = False
    done: list[tuple[Any, Any, Any]] = field(default_factory=list)
    oldest_done: float = 0.0
    retry_at: float = 0.0  # recording failed: not before this
    failures: dict[Any, int] = field(default_factory=dict)  # per claim token
    recruited_at: float = 0.0


class Dispatcher:
    def __init__(self, streams: Iterable[Stream], *, capacity: int, reserve: int) -> None:
        self._states = {s.name: _State(s) for s in streams}
        self._capacity, self._reserve = capacity, reserve
        # Pacing (notify/settings/delivery.py): outcomes are written in groups; a failed
        # claim or write is tried again after a pause, a write at most record_tries times.
        self._flush_count = settings.NOTIFY_OUTBOX_FLUSH_COUNT
        self._flush_seconds = settings.NOTIFY_OUTBOX_FLUSH_SECONDS
        self._recruit_seconds = settings.NOTIFY_OUTBOX_RECRUIT_SECONDS
        self._retry_seconds = settings.NOTIFY_OUTBOX_RETRY_SECONDS
        self._record_tries = settings.NOTIFY_OUTBOX_RECORD_TRIES
        self._in_flight = 0
        self._cond = threading.Condition()
        self._woken: set[str] = set()
        # Woken while there was no room for them: claimed again as soon as any slot frees.
        self._starved: set[str] = set()
        self._completed: list[tuple[str, Any, Any, Any]] = []
        self._timers: dict[str, float] = {}
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(capacity + reserve, thread_name_prefix="send")
        self._threads: list[threading.Thread] = []

    @property
    def streams(self) -> list[str]:
        return list(self._states)

    def start(self) -> None:
        for target, name in ((self._run, "outbox"), (self._listen, "outbox-wake")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def wake(self, name: str) -> None:
        if name in self._states:
            with self._cond:
                self._woken.add(name)
                self._cond.notify()

    def stop(self, timeout: float) -> None:
        """Stop claiming, let the sends in flight finish and record them."""
        self._stopping.set()
        with self._cond:
            self._cond.notify()
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=False)

    # --- the dispatcher thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            woken, completed = self._wait()
            now = time.monotonic()
            for name, at in list(self._timers.items()):
                if at <= now:
                    del self._timers[name]
                    woken.add(name)
            if completed and self._starved:
                woken |= self._starved
                self._starved = set()
            for name, token, item, result in completed:
                state = self._states[name]
                state.in_flight -= 1
                self._in_flight -= 1
                if result is _LOST:
                    continue
                if not state.done:
                    state.oldest_done = now
                state.done.append((token, item, result))
                if state.busy:
                    woken.add(name)
            stopping = self._stopping.is_set()
            # Urgent streams first: they take the reserve and claim before bulk does, and
            # before the outcomes due are written, so a critical message never waits for the
            # write of a bulk batch's results.
            urgent = {name for name in woken if self._states[name].stream.urgent}
            for name in () if stopping else urgent:
                self._fill(self._states[name])
            self._flush(force=stopping)
            if stopping:
                if self._in_flight == 0:
                    self._flush(force=True)
                    close_old_connections()
                    return
                continue
            for name in woken - urgent:
                self._fill(self._states[name])

    def _wait(self) -> tuple[set[str], list[tuple[str, Any, Any, Any]]]:
        with self._cond:
            # Stopping: wait for the sends in flight (their completions notify), then leave.
            while not (
                self._woken or self._completed or (self._stopping.is_set() and self._in_flight == 0)
            ):
                timeout = self._next_deadline()
                if timeout is not None and timeout <= 0:
                    break
                self._cond.wait(timeout=timeout if timeout is not None else 5.0)
            woken, self._woken = self._woken, set()
            completed, self._completed = self._completed, []
        return woken, completed

    def _next_deadline(self) -> float | None:
        now = time.monotonic()
        deadlines = list(self._timers.values())
        deadlines += [
            max(s.oldest_done + self._flush_seconds, s.retry_at)
            for s in self._states.values()
            if s.done
        ]
        return min(deadlines) - now if deadlines else None

    def _room(self, state: _State) -> int:
        slots = self._capacity + (self._reserve if state.stream.urgent else 0)
        return min(
            state.stream.limit - state.in_flight,
            slots - self._in_flight,
            settings.NOTIFY_BATCH_SIZE,
        )

    def _fill(self, state: _State) -> None:
        stream = state.stream
        room = self._room(state)
        # Under load, wait for half of the stream's room: batches, not one claim a send.
        if room <= 0 or (state.in_flight and room < max(1, stream.limit // 2)):
            # The slots may be held by other streams: any completion brings this one back.
            self._starved.add(stream.name)
            return
        try:
            with bound(stream=stream.name):
                claimed = stream.claim(room)
        except Exception:
            logger.exception("outbox: claim on %s failed; retrying shortly", stream.name)
            close_old_connections()
            self._timers[stream.name] = time.monotonic() + self._retry_seconds
            return
        state.busy = claimed.more
        if claimed.wait > 0 and claimed.wait != float("inf"):  # an operator's resume rings
            self._timers[stream.name] = time.monotonic() + min(claimed.wait, 60.0) + 0.05
        for item in claimed.items:
            state.in_flight += 1
            self._in_flight += 1
            self._pool.submit(self._send, stream, claimed.token, item)
        if claimed.more and len(claimed.items) >= room:
            self._recruit(state)

    def _recruit(self, state: _State) -> None:
        """More is due than this process has room for: wake another process too."""
        now = time.monotonic()
        if now - state.recruited_at >= self._recruit_seconds:
            state.recruited_at = now
            stream_ring(state.stream.name, force=True)

    def _send(self, stream: Stream, token: Any, item: Any) -> None:
        try:
            with bound(stream=stream.name):
                result = stream.send(item)
        except Exception:
            # The stream's own guard failed. Free the slot; the claim's lease runs out and the
            # sweeper settles the item, as if this process had died.
            logger.exception("outbox: send on %s raised", stream.name)
            result = _LOST
        with self._cond:
            self._completed.append((stream.name, token, item, result))
            self._cond.notify()

    def _flush(self, *, force: bool) -> None:
        now = time.monotonic()
        for state in self._states.values():
            if not state.done or (now < state.retry_at and not force):
                continue
            due = (
                force
                or state.in_flight == 0
                or len(state.done) >= self._flush_count
                or now - state.oldest_done >= self._flush_seconds
            )
            if due:
                self._record(state, now)

    def _record(self, state: _State, now: float) -> None:
        """One write per claim (fencing token): a claim whose outcomes cannot be written
        holds back no other claim's."""
        groups: dict[Any, list[tuple[Any, Any, Any]]] = {}
        for entry in state.done:
            groups.setdefault(_token_key(entry[0]), []).append(entry)
        state.done = []
        for key, group in groups.items():
            try:
                with bound(stream=state.stream.name):
                    state.stream.record(group)
                state.failures.pop(key, None)
            except Exception:
                # Postgres away: keep the outcomes and try again; if this process dies first,
                # the leases run out and the sweeper settles them (resend or reconcile).
                logger.exception(
                    "outbox: recording %d outcomes on %s failed", len(group), state.stream.name
                )
                close_old_connections()
                state.failures[key] = state.failures.get(key, 0) + 1
                if state.failures[key] >= self._record_tries:
                    logger.error(
                        "outbox: %d outcomes on %s left to the sweeper",
                        len(group),
                        state.stream.name,
                    )
                    del state.failures[key]
                    continue
                state.done += group
                state.retry_at = now + self._retry_seconds
        if state.done:
            state.oldest_done = now

    # --- the listener thread -------------------------------------------------------------

    def _listen(self) -> None:
        # BLPOP serves the first non-empty list in this order: urgent streams first.
        names = sorted(self._states, key=lambda n: not self._states[n].stream.urgent)
        wakes_listen(names, self.wake, self._stopping)


def _token_key(token: Any) -> Any:
    return token if token is not None else "-"
