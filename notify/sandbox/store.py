"""What the stand-ins received: bounded message records, counters and runtime config."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from notify.sandbox.faults import FaultBook

PROVIDERS: tuple[str, ...] = ("smtp", "postmark", "twilio", "fcm")
DEFAULT_CAPACITY = 50_000


@dataclass(frozen=True)
class Record:
    id: int
    provider: str
    received_at: str
    to: str
    delivery_id: str | None
    summary: str
    body: dict[str, Any]
    # None when the connection was dropped without an answer.
    status: int | None
    accepted: bool
    # Twilio sid, FCM message name, Postmark MessageID or SMTP queue id; lets tests join on
    # the SDK's return value.
    provider_id: str | None = None
    # What came over the wire when it is more than `body` (an SMTP message's source). Kept
    # out of the control API's JSON, which stays the parsed record; the pages show it.
    raw: bytes | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        del record["raw"]
        return record

    @cached_property
    def haystack(self) -> str:
        """Everything a search looks through, lower-cased; worked out at the first search,
        so receiving a message costs nothing more."""
        parts = [self.to, self.summary, self.delivery_id or "", self.provider_id or ""]
        parts.append(json.dumps(self.body, ensure_ascii=False, default=str))
        return "\n".join(parts).lower()

    def matches(self, search: str) -> bool:
        """Every word of `search` appears somewhere in the record (case-insensitive)."""
        return all(word in self.haystack for word in search.lower().split())


def _counters() -> dict[str, dict[str, int]]:
    return {provider: {"requests": 0, "accepted": 0} for provider in PROVIDERS}


class Store:
    """In-memory state shared by every stand-in.

    Everything normally runs on one event loop, so the lock is uncontended; it is
    there so the store stays correct if the SMTP side runs in aiosmtpd's threaded
    Controller (as a test might do).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, latency_ms: int = 0) -> None:
        self.capacity = capacity
        self.latency_ms = latency_ms
        self.default_latency_ms = latency_ms
        self.faults = FaultBook()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._records: OrderedDict[int, Record] = OrderedDict()
        self._counters = _counters()
        # Goes up at every clear, so a page that polls can tell its rows are gone.
        self.epoch = 0
        # Twilio Message resources, kept apart so GET/list answers in Twilio's own shape.
        self._twilio: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def add(
        self,
        *,
        provider: str,
        to: str,
        delivery_id: str | None,
        summary: str,
        body: dict[str, Any],
        status: int | None,
        accepted: bool,
        provider_id: str | None = None,
        raw: bytes | None = None,
    ) -> Record:
        with self._lock:
            record = Record(
                id=next(self._ids),
                provider=provider,
                received_at=datetime.now(UTC).isoformat(),
                to=to,
                delivery_id=delivery_id,
                summary=summary,
                body=body,
                status=status,
                accepted=accepted,
                provider_id=provider_id,
                raw=raw,
            )
            self._records[record.id] = record
            if len(self._records) > self.capacity:
                self._records.popitem(last=False)
            counters = self._counters[provider]
            counters["requests"] += 1
            counters["accepted"] += int(accepted)
            return record

    def get(self, record_id: int) -> Record | None:
        with self._lock:
            return self._records.get(record_id)

    def query(
        self,
        *,
        provider: str | None = None,
        to: str | None = None,
        delivery_id: str | None = None,
        search: str | None = None,
        accepted: bool | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[Record]]:
        """Return (number matching, newest `limit` matches). `after` counts and returns only
        records newer than that id, which is how the pages poll for what is new."""
        with self._lock:
            records = list(self._records.values())
        matched = []
        for record in reversed(records):
            if record.id <= after:
                break  # ids only grow
            if (
                (provider is None or record.provider == provider)
                and (to is None or record.to == to)
                and (delivery_id is None or record.delivery_id == delivery_id)
                and (accepted is None or record.accepted == accepted)
                and (not search or record.matches(search))
            ):
                matched.append(record)
        return len(matched), matched[:limit]

    def newest_id(self) -> int:
        """The id of the newest record kept, 0 when there is none."""
        with self._lock:
            return next(reversed(self._records), 0)

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return copy.deepcopy(self._counters)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._twilio.clear()
            self._counters = _counters()
            self.epoch += 1

    def reset(self) -> None:
        """Back to how the process started: no messages, no faults, the CLI's latency."""
        self.clear()
        self.faults.clear()
        self.latency_ms = self.default_latency_ms

    def put_twilio_message(self, resource: dict[str, Any]) -> None:
        with self._lock:
            self._twilio[resource["sid"]] = resource
            if len(self._twilio) > self.capacity:
                self._twilio.popitem(last=False)

    def get_twilio_message(self, account_sid: str, sid: str) -> dict[str, Any] | None:
        with self._lock:
            resource = self._twilio.get(sid)
        if resource is None or resource["account_sid"] != account_sid:
            return None
        return resource

    def twilio_messages(
        self, account_sid: str, to: str | None, from_: str | None
    ) -> list[dict[str, Any]]:
        """Newest first, as Twilio lists them."""
        with self._lock:
            resources = list(self._twilio.values())
        return [
            resource
            for resource in reversed(resources)
            if resource["account_sid"] == account_sid
            and (to is None or resource["to"] == to)
            and (from_ is None or resource["from"] == from_)
        ]
