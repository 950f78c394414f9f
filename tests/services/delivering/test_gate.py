"""The claim gate: every Redis check of a delivery claim in one script, with the answers the
separate checks of protection.py give (the admin and the API still use those)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import override_settings

from notify.services.delivering import gate
from notify.services.delivering.gate import claim_gate
from notify.services.delivering.protection import (
    PAUSED_UNTIL_RESUMED,
    breaker_record,
    operator_pause_key,
    provider_pause,
    tenant_pause_key,
)
from notify.services.outbox import doorbell
from tests.services.rows import forget_provider_state


@pytest.fixture(autouse=True)
def clean(redis_db: redis.Redis) -> Iterator[None]:
    forget_provider_state(redis_db)
    yield
    forget_provider_state(redis_db)


def test_an_open_channel_goes_to_its_first_provider_for_all_it_asked() -> None:
    assert claim_gate(channel="email", want=40) == gate.Gate("smtp", 40, 0.0, [])


def test_an_operators_channel_pause_holds_until_resumed(redis_db: redis.Redis) -> None:
    redis_db.set(operator_pause_key("channel", "sms"), 1)

    assert claim_gate(channel="sms", want=5) == gate.Gate("", 0, PAUSED_UNTIL_RESUMED, [])
    assert claim_gate(channel="push", want=5).provider == "fcm"


def test_tenants_that_paused_the_channel_come_back_with_the_answer(redis_db: redis.Redis) -> None:
    redis_db.sadd(tenant_pause_key("push"), "zeta", "acme")

    assert claim_gate(channel="push", want=3) == gate.Gate("fcm", 3, 0.0, ["acme", "zeta"])


def test_a_provider_that_asked_for_a_pause_fails_over_to_the_next() -> None:
    provider_pause(provider="smtp", seconds=30)

    assert claim_gate(channel="email", want=2).provider == "postmark"

    provider_pause(provider="postmark", seconds=10)
    held = claim_gate(channel="email", want=2)
    # Nobody may be sent to: wait for the first provider that frees up.
    assert held.provider == "" and 9 < held.wait <= 10


def test_an_operators_provider_pause_waits_only_for_the_others(redis_db: redis.Redis) -> None:
    redis_db.set(operator_pause_key("provider", "twilio"), 1)

    assert claim_gate(channel="sms", want=1).wait == PAUSED_UNTIL_RESUMED

    redis_db.set(operator_pause_key("provider", "smtp"), 1)
    provider_pause(provider="postmark", seconds=5)
    assert 4 < claim_gate(channel="email", want=1).wait <= 5


@override_settings(NOTIFY_BREAKER_MIN_CALLS=2, NOTIFY_BREAKER_OPEN_SECONDS=30)
def test_an_open_circuit_waits_and_a_half_open_one_lets_one_claim_probe(
    redis_db: redis.Redis,
) -> None:
    breaker_record(provider="fcm", calls=2, failures=2)
    assert 25 < claim_gate(channel="push", want=4).wait <= 30

    redis_db.delete("notify:breaker:fcm:open")  # the open period ran out
    assert claim_gate(channel="push", want=4).provider == "fcm"  # this claim probes...
    other = claim_gate(channel="push", want=4)
    assert other.provider == "" and other.wait == 30  # ...the others wait for its result


@override_settings(NOTIFY_RATE_LIMITS={"twilio": 5.0})
def test_a_rate_limited_provider_grants_its_burst_then_says_how_long_to_wait() -> None:
    assert claim_gate(channel="sms", want=100) == gate.Gate("twilio", 5, 0.0, [])

    held = claim_gate(channel="sms", want=100)

    assert held.provider == "twilio" and held.granted == 0
    assert 0 < held.wait <= 0.2  # one token at 5/s


def test_without_redis_the_claim_goes_ahead_unthrottled(settings: Any) -> None:
    doorbell.redis_client.cache_clear()
    gate._script.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        assert claim_gate(channel="sms", want=7) == gate.Gate("twilio", 7, 0.0, [])
    finally:
        doorbell.redis_client.cache_clear()
        gate._script.cache_clear()
