"""Waking workers. A wake-up carries no ids, only "there is due work on this stream" (a
channel's lane, or the outbound webhooks): the worker claims the work from Postgres. So a lost
or duplicated wake-up is harmless (the sweeper rings again; claims are exclusive) and Redis
never holds a backlog that could keep urgent messages waiting.

Two paths lead to a worker process's dispatcher (notify/services/outbox/engine.py):
- the fast one: a token pushed on a Redis list that every dispatcher blocks on (BLPOP), so a
  commit reaches a claim in about a millisecond whatever the Celery pool is doing;
- the Celery `notify.drain` task, published by the sweeper and for delayed retries: it wakes
  the dispatcher of whichever process runs it (and shows the work in Flower)."""

from __future__ import annotations

import logging
from functools import cache

import redis

from celery_app import app
from channels import queue_for as channel_queue
from notify.models.notifications import Priority
from notify.redis_client import redis_client

logger = logging.getLogger(__name__)

URGENT = "urgent"
STANDARD = "standard"
WEBHOOKS = "webhooks"
# A ring in the last moment is still waiting to be taken; do not push another token. The
# dispatcher that takes the token deletes the key before it claims, so this only bounds how
# long a key can outlive a lost token.
_DEBOUNCE_MS = 2000
# Tokens kept per stream: enough to wake a few processes under a backlog, never a pile.
_MAX_TOKENS = 4

# Debounce and push in one step, so a key is never set without its token; KEYS are (bell,
# wake list) pairs, so one commit's streams (a multichannel notification) ring in one round
# trip. Returns how many tokens were pushed.
_RING = """
local pushed = 0
for i = 1, #KEYS, 2 do
  local ring = true
  if ARGV[2] == '0' then
    ring = redis.call('SET', KEYS[i], 1, 'NX', 'PX', ARGV[1])
  else
    redis.call('SET', KEYS[i], 1, 'PX', ARGV[1])
  end
  if ring then
    redis.call('LPUSH', KEYS[i + 1], 1)
    redis.call('LTRIM', KEYS[i + 1], 0, tonumber(ARGV[3]) - 1)
    pushed = pushed + 1
  end
end
return pushed
"""


def lane_for(priority: int) -> str:
    return URGENT if priority <= Priority.HIGH else STANDARD


def queue_for(channel: str, lane: str) -> str:
    """The urgent lane of every channel shares one queue; a standard lane uses the channel's
    own (the channel registry says which)."""
    return URGENT if lane == URGENT else channel_queue(channel)


def stream_name(channel: str, lane: str) -> str:
    return f"{channel}:{lane}"


def bell_key(stream: str) -> str:
    return f"notify:bell:{stream}"


def wake_key(stream: str) -> str:
    return f"notify:wake:{stream}"


@cache
def _ring_script() -> redis.commands.core.Script:
    return redis_client().register_script(_RING)


def stream_ring(stream: str, *, force: bool = False) -> bool:
    """Push a wake token for `stream` unless one is already waiting (`force`: push anyway,
    to bring another process in). Never raises: the work is committed, and the sweeper
    rings for it if this fails."""
    return _ring([stream], force=force) > 0


def _ring(streams: list[str], *, force: bool = False) -> int:
    keys = [key for stream in streams for key in (bell_key(stream), wake_key(stream))]
    try:
        pushed = _ring_script()(keys=keys, args=[_DEBOUNCE_MS, int(force), _MAX_TOKENS])
    except redis.RedisError:
        names = ", ".join(streams)
        logger.warning("doorbell %s not rung; the sweeper will retry", names, exc_info=True)
        return 0
    return int(pushed)


def bell_ring(
    *, channel: str, lane: str, countdown: float | None = None, force: bool = False
) -> bool:
    """Wake a dispatcher for (channel, lane): at once through its wake list, or after
    `countdown` seconds through a Celery drain task. `force` (the sweeper) also publishes a
    drain task, which restarts a dispatcher that has stopped listening."""
    if countdown is None:
        rung = stream_ring(stream_name(channel, lane), force=force)
        if not force:
            return rung
    return _drain_publish(channel, lane, countdown)


def _drain_publish(channel: str, lane: str, countdown: float | None) -> bool:
    # Published by name (notify/tasks.py defines it): the tasks module imports the services,
    # so importing it here would tie every service that rings to all of them.
    try:
        app.send_task(
            "notify.drain",
            args=[channel, lane],
            queue=queue_for(channel, lane),
            countdown=countdown,
        )
    except Exception:
        logger.warning(
            "drain %s/%s not published; the sweeper will retry", channel, lane, exc_info=True
        )
        return False
    return True


def bells_ring_for(pairs: set[tuple[str, int]]) -> None:
    """Ring once per (channel, lane) for deliveries given as (channel, priority), all in one
    round trip."""
    streams = {stream_name(channel, lane_for(priority)) for channel, priority in pairs}
    if streams:
        _ring(sorted(streams))
