"""Waking workers. A Celery message carries no delivery ids, only "there is due work for this
channel and lane": the worker pulls a batch from Postgres. So a lost or duplicated message is
harmless (the sweeper rings again; claims are exclusive) and Redis never holds a backlog that
could keep urgent messages waiting."""

from __future__ import annotations

import logging
from functools import cache

import redis
from django.conf import settings

from notify.models.notifications import Priority

logger = logging.getLogger(__name__)

URGENT = "urgent"
STANDARD = "standard"
# A doorbell rung in the last moment is still queued; do not ring again. Short, so that a
# doorbell lost after its key was set costs at most this long (plus a sweep).
_DEBOUNCE_MS = 2000


def lane_for(priority: int) -> str:
    return URGENT if priority <= Priority.HIGH else STANDARD


def queue_for(channel: str, lane: str) -> str:
    return URGENT if lane == URGENT else channel


def bell_key(channel: str, lane: str) -> str:
    return f"notify:bell:{channel}:{lane}"


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1, health_check_interval=25
    )


def bell_ring(
    *, channel: str, lane: str, countdown: float | None = None, force: bool = False
) -> bool:
    """Publish a drain task for (channel, lane) unless one is already waiting. Never raises:
    the deliveries are committed, and the sweeper rings for them if this fails."""
    from notify.tasks import drain as drain_task

    try:
        if countdown is None and not force:
            fresh = redis_client().set(bell_key(channel, lane), 1, nx=True, px=_DEBOUNCE_MS)
            if not fresh:
                return False
        drain_task.apply_async(
            args=[channel, lane], queue=queue_for(channel, lane), countdown=countdown
        )
    except Exception:
        logger.warning(
            "doorbell %s/%s not published; the sweeper will retry", channel, lane, exc_info=True
        )
        return False
    return True


def bell_clear(*, channel: str, lane: str) -> None:
    """Called by a drain as it starts: work committed from now on needs a new doorbell."""
    try:
        redis_client().delete(bell_key(channel, lane))
    except redis.RedisError:
        logger.warning("could not clear doorbell key %s/%s", channel, lane, exc_info=True)


def bells_ring_for(pairs: set[tuple[str, int]]) -> None:
    """Ring once per (channel, lane) for deliveries given as (channel, priority)."""
    for channel, lane in {(channel, lane_for(priority)) for channel, priority in pairs}:
        bell_ring(channel=channel, lane=lane)
