"""The per-key rate limit: decided atomically in Redis, so many concurrent callers get exactly
the limit through; counted in notifications; a key's own limit replaces the default."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest
from django.test import override_settings

from notify.models import ApiKey
from notify.services.access.apikeys import api_key_create
from notify.services.access.ratelimits import Rate, rate_limit_take, rate_parse


def _hammer(key: ApiKey, *, threads: int, calls: int, count: int = 1) -> list[bool]:
    """`threads` callers released at once, each taking `count` `calls` times."""
    start = threading.Barrier(threads)
    results: list[bool] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait()
        mine = [rate_limit_take(key=key, count=count).allowed for _ in range(calls)]
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_concurrent_callers_get_exactly_the_limit_through(db: Any) -> None:
    key, _ = api_key_create(name="busy", rate_limit="50/h")

    results = _hammer(key, threads=32, calls=10)

    assert len(results) == 320
    assert results.count(True) == 50


def test_concurrent_batches_are_counted_in_notifications(db: Any) -> None:
    key, _ = api_key_create(name="batches", rate_limit="100/h")

    results = _hammer(key, threads=16, calls=5, count=3)

    assert results.count(True) == 33  # 99 notifications; a 34th batch would make 102


def test_a_refused_take_spends_nothing_and_says_how_long_to_wait(db: Any) -> None:
    key, _ = api_key_create(name="k", rate_limit="10/h")

    assert rate_limit_take(key=key, count=7).allowed
    refused = rate_limit_take(key=key, count=4)
    assert rate_limit_take(key=key, count=3).allowed
    full = rate_limit_take(key=key, count=1)

    assert not refused.allowed and 3500 < refused.retry_after <= 3600
    assert not full.allowed and 3500 < full.retry_after <= 3600


def test_more_than_the_whole_limit_can_never_pass_and_spends_nothing(db: Any) -> None:
    key, _ = api_key_create(name="k", rate_limit="5/m")

    too_big = rate_limit_take(key=key, count=6)

    assert too_big == (False, math.inf)
    assert rate_limit_take(key=key, count=5).allowed


def test_the_window_slides_and_the_wait_given_is_enough(db: Any) -> None:
    key, _ = api_key_create(name="k", rate_limit="2/s")
    rate_limit_take(key=key)
    rate_limit_take(key=key)

    refused = rate_limit_take(key=key)
    assert not refused.allowed and 0 < refused.retry_after <= 1
    time.sleep(refused.retry_after + 0.05)

    assert rate_limit_take(key=key).allowed


@override_settings(NOTIFY_API_RATE="2/h")
def test_a_keys_own_limit_replaces_the_default_and_others_keep_it(db: Any) -> None:
    producer, _ = api_key_create(name="producer", rate_limit="5/h")
    ordinary, _ = api_key_create(name="ordinary")

    assert [rate_limit_take(key=producer).allowed for _ in range(6)] == [True] * 5 + [False]
    assert [rate_limit_take(key=ordinary).allowed for _ in range(3)] == [True, True, False]


@override_settings(NOTIFY_API_RATE="")
def test_with_no_default_only_keys_with_their_own_limit_are_limited(db: Any) -> None:
    limited, _ = api_key_create(name="limited", rate_limit="3/h")
    unlimited, _ = api_key_create(name="unlimited")

    assert [rate_limit_take(key=limited).allowed for _ in range(4)] == [True] * 3 + [False]
    assert all(rate_limit_take(key=unlimited, count=50).allowed for _ in range(10))


@pytest.mark.parametrize(
    ("value", "rate"),
    [("500/s", Rate(500, 1)), ("10000/hour", Rate(10000, 3600)), (" 7 / m ", Rate(7, 60))],
)
def test_rates_are_read_in_drf_syntax(value: str, rate: Rate) -> None:
    assert rate_parse(value=value) == rate


@pytest.mark.parametrize("value", ["", "0/s", "-1/s", "100", "100/w", "1.5/s", "fast"])
def test_anything_else_is_not_a_rate(value: str) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        rate_parse(value=value)


def test_a_key_is_created_with_its_rate_normalized_or_refused(db: Any) -> None:
    assert api_key_create(name="k", rate_limit="500/second")[0].rate_limit == "500/s"
    with pytest.raises(ValueError):
        api_key_create(name="bad", rate_limit="lots")
    assert not ApiKey.objects.filter(name="bad").exists()
