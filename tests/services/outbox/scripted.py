"""A scripted stream (the Stream protocol over a list) for the engine's own tests, and the
fixture that starts dispatchers over it and stops them after the test."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from notify.observability.jsonlogs import log_context
from notify.services.outbox.engine import Claimed, Dispatcher


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
        self.held_later: set[str] = set()  # sends of these wait for `release_later`
        self.release_later = threading.Event()
        self.record_errors: dict[int, int] = {}
        self._tokens = itertools.count(1)
        self.sending: set[str] = set()  # sends under way now
        self.send_threads: set[str] = set()
        self.log_streams: list[str | None] = []  # the log context's stream, seen by each send

    def add(self, *items: str) -> None:
        with self.lock:
            self.pending += items

    def claim(self, room: int) -> Claimed:
        with self.lock:
            self.log_streams.append(log_context().get("stream"))
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
        with self.lock:
            self.sending.add(item)
            self.send_threads.add(threading.current_thread().name)
        if item in self.raises:
            raise RuntimeError("the stream's own guard failed")
        if item in self.held:
            self.release.wait(5)
        if item in self.held_later:
            self.release_later.wait(5)
        with self.lock:
            self.sending.discard(item)
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

    def start(*streams: Scripted, capacity: int = 8, reserve: int = 0) -> Dispatcher:
        dispatcher = Dispatcher(streams, capacity=capacity, reserve=reserve)
        dispatcher.start()
        started.append(dispatcher)
        return dispatcher

    yield start
    for dispatcher in started:
        dispatcher.stop(timeout=5)
