"""Waking workers: wake tokens on Redis lists (debounced, bounded) and drain tasks on the
Celery broker, against the real Redis. Streams named here are served by no worker."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from notify.models.notifications import Priority
from notify.services.outbox.doorbell import (
    STANDARD,
    URGENT,
    bell_key,
    bell_ring,
    bells_ring_for,
    lane_for,
    queue_for,
    stream_name,
    stream_ring,
    wake_key,
)
from tests.conftest import Stack

STREAM = "nobody:standard"


@pytest.fixture
def client(redis_db: redis.Redis) -> redis.Redis:
    for name in ("nobody:standard", "nobody:urgent", "elsewhere:standard"):
        redis_db.delete(bell_key(name), wake_key(name))
    redis_db.delete("nobody")
    return redis_db


def test_lanes_queues_and_names() -> None:
    assert [lane_for(p) for p in Priority] == [URGENT, URGENT, STANDARD, STANDARD]
    assert (queue_for("sms", URGENT), queue_for("sms", STANDARD)) == ("urgent", "sms")
    assert stream_name("push", URGENT) == "push:urgent"


def test_a_ring_pushes_one_token_and_a_second_ring_waits_for_it_to_be_taken(
    client: redis.Redis,
) -> None:
    assert stream_ring(STREAM) is True
    assert stream_ring(STREAM) is False
    assert client.llen(wake_key(STREAM)) == 1

    # A dispatcher takes the token and deletes the bell before it claims (outbox.py).
    client.lpop(wake_key(STREAM))
    client.delete(bell_key(STREAM))

    assert stream_ring(STREAM) is True
    assert client.llen(wake_key(STREAM)) == 1


def test_a_forced_ring_pushes_anyway_but_never_piles_up_tokens(client: redis.Redis) -> None:
    stream_ring(STREAM)

    pushed = [stream_ring(STREAM, force=True) for _ in range(10)]

    assert pushed == [True] * 10
    assert client.llen(wake_key(STREAM)) == 4
    assert client.pttl(bell_key(STREAM)) > 0


def test_the_bell_is_debounced_per_stream(client: redis.Redis) -> None:
    stream_ring(STREAM)

    assert stream_ring("elsewhere:standard") is True
    assert client.llen(wake_key("elsewhere:standard")) == 1


def _drains(client: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(raw)["headers"] for raw in client.lrange("nobody", 0, -1)]


def test_a_delayed_ring_is_a_drain_task_on_the_lanes_queue(client: redis.Redis) -> None:
    assert bell_ring(channel="nobody", lane=STANDARD, countdown=30) is True

    [headers] = _drains(client)
    assert headers["task"] == "notify.drain"
    assert headers["argsrepr"] == "['nobody', 'standard']"
    assert headers["eta"] is not None
    assert client.llen(wake_key(STREAM)) == 0  # no token now: the wait is the point


def test_an_immediate_ring_pushes_a_token_and_no_task(client: redis.Redis) -> None:
    assert bell_ring(channel="nobody", lane=STANDARD) is True

    assert client.llen(wake_key(STREAM)) == 1
    assert _drains(client) == []


def test_a_forced_ring_also_publishes_a_drain_task_at_once(client: redis.Redis) -> None:
    """The sweeper's ring: a token, and a task that restarts a dispatcher that stopped."""
    assert bell_ring(channel="nobody", lane=STANDARD, force=True) is True

    assert client.llen(wake_key(STREAM)) == 1
    [headers] = _drains(client)
    assert (headers["task"], headers["eta"]) == ("notify.drain", None)


def test_bells_ring_once_per_channel_and_lane(client: redis.Redis) -> None:
    bells_ring_for({("nobody", Priority.LOW), ("nobody", Priority.NORMAL)})

    assert client.llen(wake_key("nobody:standard")) == 1
    assert client.llen(wake_key("nobody:urgent")) == 0


def test_one_commit_rings_each_of_its_streams_once_and_each_debounces_alone(
    client: redis.Redis,
) -> None:
    stream_ring("elsewhere:standard")  # a token already waits there
    client.delete(wake_key("elsewhere:standard"))  # ...and was taken, its key not yet deleted

    bells_ring_for({("nobody", Priority.LOW), ("nobody", Priority.CRITICAL), ("elsewhere", 2)})
    bells_ring_for({("nobody", Priority.LOW), ("nobody", Priority.CRITICAL)})

    assert client.llen(wake_key("nobody:standard")) == 1
    assert client.llen(wake_key("nobody:urgent")) == 1
    # Debounced by its own key: the other streams of the commit rang all the same.
    assert client.llen(wake_key("elsewhere:standard")) == 0


@pytest.fixture
def redis_away(settings: Any) -> Iterator[None]:
    """The doorbell's Redis client pointed where nothing listens, for the test's length."""
    from notify.redis_client import redis_client
    from notify.services.outbox import doorbell

    redis_client.cache_clear()
    doorbell._ring_script.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    yield
    redis_client.cache_clear()
    doorbell._ring_script.cache_clear()


def test_a_ring_without_redis_says_so_instead_of_raising(
    client: redis.Redis, redis_away: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="notify.services.outbox.doorbell"):
        assert stream_ring(STREAM) is False
    [record] = [r for r in caplog.records if r.name == "notify.services.outbox.doorbell"]
    assert record.getMessage() == f"doorbell {STREAM} not rung; the sweeper will retry"
    # Why Redis refused, for whoever reads the log.
    assert record.exc_info and isinstance(record.exc_info[1], redis.RedisError)


def test_one_ring_of_several_streams_without_redis_names_each_of_them(
    client: redis.Redis, redis_away: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="notify.services.outbox.doorbell"):
        bells_ring_for({("nobody", Priority.NORMAL), ("nobody", Priority.CRITICAL)})
    [record] = [r for r in caplog.records if r.name == "notify.services.outbox.doorbell"]
    assert record.getMessage() == (
        "doorbell nobody:standard, nobody:urgent not rung; the sweeper will retry"
    )


def test_a_drain_task_celery_cannot_publish_is_logged_and_reported(
    client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Any error Celery raises while publishing (here a countdown it cannot turn into a time)
    is logged with what was not published, and the caller learns the ring did not happen."""
    client.delete("nobody")
    with caplog.at_level(logging.WARNING, logger="notify.services.outbox.doorbell"):
        assert bell_ring(channel="nobody", lane=STANDARD, countdown=float("nan")) is False

    [record] = [r for r in caplog.records if r.name == "notify.services.outbox.doorbell"]
    assert record.getMessage() == "drain nobody/standard not published; the sweeper will retry"
    assert record.levelno == logging.WARNING
    assert record.exc_info and record.exc_info[1] is not None
    assert client.llen("nobody") == 0


def test_a_forced_ring_pushes_even_while_a_lost_token_still_debounces(client: redis.Redis) -> None:
    stream_ring(STREAM)
    client.lpop(wake_key(STREAM))  # the token was lost; its bell key still debounces

    assert bell_ring(channel="nobody", lane=STANDARD, force=True) is True
    assert client.llen(wake_key(STREAM)) == 1


def test_a_delayed_urgent_ring_goes_to_the_urgent_queue(
    client: redis.Redis, _stack_session: Stack
) -> None:
    """Workers started with -Q urgent serve every channel's urgent lane: the task must reach
    them. (The suite's worker, which would take it off the queue, is stopped first.)"""
    _stack_session.stop()
    client.delete("urgent")

    assert bell_ring(channel="nobody", lane=URGENT, countdown=30) is True

    [raw] = client.lrange("urgent", 0, -1)
    headers = json.loads(raw)["headers"]
    assert (headers["task"], headers["argsrepr"]) == ("notify.drain", "['nobody', 'urgent']")
    assert client.llen("nobody") == 0
