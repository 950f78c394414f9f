"""Provider protection state lives in Redis, so every worker process sees the same limits,
pauses and circuits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.test import override_settings

from notify.services.delivering.protection import (
    breaker_record,
    breaker_state,
    provider_pause,
    provider_wait,
    rate_give_back,
    rate_take,
)


@pytest.fixture(autouse=True)
def clean(redis_db: redis.Redis) -> Iterator[None]:
    def wipe() -> None:
        for key in redis_db.scan_iter("notify:*:acme*"):
            redis_db.delete(key)

    wipe()
    yield
    wipe()


@override_settings(NOTIFY_RATE_LIMITS={"acme": 5.0})
def test_the_token_bucket_grants_its_burst_then_says_how_long_to_wait() -> None:
    assert rate_take(provider="acme", want=100) == (5, 0.0)

    granted, wait = rate_take(provider="acme", want=100)

    assert granted == 0
    assert 0 < wait <= 0.2  # one token at 5/s


@override_settings(NOTIFY_RATE_LIMITS={"acme": 5.0})
def test_unused_tokens_can_be_given_back() -> None:
    rate_take(provider="acme", want=5)
    rate_give_back(provider="acme", count=3)

    granted, _ = rate_take(provider="acme", want=100)

    assert granted == 3


def test_a_provider_without_a_limit_is_not_throttled() -> None:
    assert rate_take(provider="acme-unlimited", want=250) == (250, 0.0)


def test_a_pause_holds_every_worker_back_for_the_time_asked() -> None:
    provider_pause(provider="acme", seconds=30)

    assert 29 < provider_wait(provider="acme") <= 30


@override_settings(
    NOTIFY_BREAKER_MIN_CALLS=10, NOTIFY_BREAKER_FAILURE_RATE=0.5, NOTIFY_BREAKER_OPEN_SECONDS=30
)
def test_the_circuit_opens_on_a_failure_rate_not_on_a_few_errors() -> None:
    assert breaker_record(provider="acme", calls=8, failures=8) == "closed"  # too few calls
    assert breaker_record(provider="acme", calls=4, failures=0) == "open"  # 8/12 failed

    assert breaker_state(provider="acme") == "open"
    assert provider_wait(provider="acme") > 25


@override_settings(NOTIFY_BREAKER_MIN_CALLS=10, NOTIFY_BREAKER_FAILURE_RATE=0.5)
def test_mostly_successful_traffic_keeps_the_circuit_closed() -> None:
    for _ in range(5):
        assert breaker_record(provider="acme", calls=20, failures=5) == "closed"


@override_settings(NOTIFY_BREAKER_MIN_CALLS=2, NOTIFY_BREAKER_OPEN_SECONDS=30)
def test_after_the_open_period_one_probe_batch_decides(redis_db: redis.Redis) -> None:
    breaker_record(provider="acme", calls=2, failures=2)
    redis_db.delete("notify:breaker:acme:open")  # the open period ran out

    assert provider_wait(provider="acme") == 0  # this worker probes...
    assert provider_wait(provider="acme") > 0  # ...the others wait for its result
    assert breaker_record(provider="acme", calls=3, failures=0) == "closed"
    assert breaker_state(provider="acme") == "closed"
    assert provider_wait(provider="acme") == 0


@override_settings(NOTIFY_BREAKER_MIN_CALLS=2)
def test_a_failed_probe_opens_the_circuit_again(redis_db: redis.Redis) -> None:
    breaker_record(provider="acme", calls=2, failures=2)
    redis_db.delete("notify:breaker:acme:open")
    provider_wait(provider="acme")

    assert breaker_record(provider="acme", calls=1, failures=1) == "open"
