"""Fault rules: scripted failures that the stand-ins consume in creation order."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENERIC_HTTP_KINDS = frozenset({"http_429", "http_500", "http_503", "slow", "drop"})

KINDS: dict[str, frozenset[str]] = {
    "postmark": GENERIC_HTTP_KINDS | {"postmark_406", "postmark_300", "postmark_10"},
    "twilio": GENERIC_HTTP_KINDS | {"twilio_21211", "twilio_21610", "twilio_21614", "twilio_20003"},
    "fcm": GENERIC_HTTP_KINDS
    | {
        "fcm_unregistered",
        "fcm_invalid_argument",
        "fcm_sender_id_mismatch",
        "fcm_third_party_auth",
    },
    # SMTP has no HTTP status to fake, so only its own kinds plus the two timing ones.
    "smtp": frozenset({"smtp_550", "smtp_451", "smtp_554", "smtp_535", "slow", "drop"}),
}


class FaultRuleError(ValueError):
    """The control API was given a rule it cannot honour."""


@dataclass
class FaultRule:
    id: int
    provider: str
    kind: str
    times: int | None
    match_to: str | None
    retry_after: int | None
    delay_ms: int | None
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _optional_int(payload: dict[str, Any], key: str, minimum: int) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    # bool is an int subclass; "times": true is almost certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultRuleError(f"{key} must be null or an integer >= {minimum}")
    return value


def parse_rule(payload: Any, rule_id: int) -> FaultRule:
    if not isinstance(payload, dict):
        raise FaultRuleError("body must be a JSON object")
    provider = payload.get("provider")
    if provider not in KINDS:
        raise FaultRuleError(f"provider must be one of {sorted(KINDS)}")
    kind = payload.get("kind")
    if kind not in KINDS[provider]:
        raise FaultRuleError(f"kind for {provider} must be one of {sorted(KINDS[provider])}")
    match_to = payload.get("match_to")
    if match_to is not None and not isinstance(match_to, str):
        raise FaultRuleError("match_to must be null or a string")
    delay_ms = _optional_int(payload, "delay_ms", 0)
    if kind == "slow" and delay_ms is None:
        raise FaultRuleError("kind 'slow' needs delay_ms")
    return FaultRule(
        id=rule_id,
        provider=provider,
        kind=kind,
        times=_optional_int(payload, "times", 1),
        match_to=match_to,
        retry_after=_optional_int(payload, "retry_after", 0),
        delay_ms=delay_ms,
        created_at=datetime.now(UTC).isoformat(),
    )


class FaultBook:
    """Ordered fault rules.

    The lock keeps this correct if a caller drives the SMTP side from aiosmtpd's
    threaded Controller instead of the shared event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, payload: Any) -> FaultRule:
        with self._lock:
            rule = parse_rule(payload, next(self._ids))
            self._rules.append(rule)
            return dataclasses.replace(rule)

    def take(
        self,
        provider: str,
        recipients: Iterable[str],
        kinds: Collection[str] | None = None,
    ) -> FaultRule | None:
        """Consume one use of the oldest rule that applies, and return a snapshot of it.

        `kinds` narrows the search to the rules that make sense at one protocol step
        (an SMTP RCPT cannot fail with 451-at-DATA), so a rule is never used up at a
        step where it could not fire.
        """
        wanted = set(recipients)
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.provider != provider or (kinds is not None and rule.kind not in kinds):
                    continue
                if rule.match_to is not None and rule.match_to not in wanted:
                    continue
                snapshot = dataclasses.replace(rule)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        del self._rules[index]
                return snapshot
        return None

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [dataclasses.replace(rule) for rule in self._rules]

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules.clear()
            return count
