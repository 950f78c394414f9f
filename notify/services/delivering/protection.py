"""Protecting providers, and us from them, across every worker process (state in Redis):
a global token bucket per provider, a pause when a provider says 429, and a circuit breaker
that opens on a failure rate. Failing open: if Redis is unreachable, sends go ahead."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from functools import cache

import redis
from django.conf import settings

from notify.redis_client import redis_client

logger = logging.getLogger(__name__)

# Atomic token bucket: refill by elapsed time, take up to `want`; returns the number granted
# and, when none, the milliseconds until one token is available. Redis's clock is the shared
# one, so workers on different hosts agree.
_TAKE = """
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] + t[2] / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], 3600)
local wait = 0
if granted == 0 then wait = math.ceil((1 - tokens) / rate * 1000) end
return {granted, wait}
"""


def rate_take(*, provider: str, want: int) -> tuple[int, float]:
    """(granted, seconds to wait when nothing was granted)."""
    rate = settings.NOTIFY_RATE_LIMITS.get(provider)
    if not rate:
        return want, 0.0
    try:
        granted, wait_ms = redis_client().eval(
            _TAKE, 1, f"notify:rate:{provider}", rate, max(1.0, rate), want
        )
    except redis.RedisError:
        logger.warning("rate limiter unreachable; sending to %s unthrottled", provider)
        return want, 0.0
    return int(granted), int(wait_ms) / 1000


def rate_give_back(*, provider: str, count: int) -> None:
    if count > 0 and settings.NOTIFY_RATE_LIMITS.get(provider):
        with contextlib.suppress(redis.RedisError):
            redis_client().hincrbyfloat(f"notify:rate:{provider}", "tokens", count)


def provider_pause(*, provider: str, seconds: float) -> None:
    """The provider asked us to slow down (429 + Retry-After): no worker sends to it until
    the time is up."""
    try:
        redis_client().set(f"notify:pause:{provider}", 1, px=max(1, int(seconds * 1000)))
    except redis.RedisError:
        logger.warning("could not record a pause for %s", provider)


# An operator's pause (notify.services.operations.pauses) has no expiry: it lasts until resumed.
PAUSED_UNTIL_RESUMED = math.inf


def operator_pause_key(kind: str, target: str) -> str:
    """kind is "provider" or "channel". Distinct from the 429 pause key, so a provider's
    Retry-After can never shorten an operator's pause."""
    return f"notify:pause:{kind}:{target}"


def channel_paused(*, channel: str) -> bool:
    """Paused for every tenant."""
    try:
        return bool(redis_client().exists(operator_pause_key("channel", channel)))
    except redis.RedisError:
        return False


def tenant_pause_key(channel: str) -> str:
    """A Redis set of the tenants that paused their own sends on `channel`."""
    return f"notify:pause:tenants:{channel}"


def tenants_paused(*, channel: str) -> list[str]:
    """Tenants whose sends on `channel` are held back by their own pause (one SMEMBERS); a
    delivery claim skips their notifications. Empty if Redis is unreachable, like every
    other pause here."""
    try:
        members = redis_client().smembers(tenant_pause_key(channel))
    except redis.RedisError:
        return []
    return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)


def provider_wait(*, provider: str) -> float:
    """Seconds before `provider` may be sent to (0 when it may now): paused by an operator
    (PAUSED_UNTIL_RESUMED), paused at its request, or circuit open and not our turn to
    probe."""
    try:
        client = redis_client()
        if client.exists(operator_pause_key("provider", provider)):
            return PAUSED_UNTIL_RESUMED
        paused_ms = client.pttl(f"notify:pause:{provider}")
        if paused_ms > 0:
            return paused_ms / 1000
        open_ms = client.pttl(f"notify:breaker:{provider}:open")
        if open_ms > 0:
            return open_ms / 1000
        if client.exists(f"notify:breaker:{provider}:half"):
            # Half-open: one probe batch at a time.
            probing = client.set(
                f"notify:breaker:{provider}:probe",
                1,
                nx=True,
                px=int(settings.NOTIFY_BREAKER_OPEN_SECONDS * 1000),
            )
            return 0.0 if probing else settings.NOTIFY_BREAKER_OPEN_SECONDS
    except redis.RedisError:
        return 0.0
    return 0.0


# Counting a batch in the current window in one round trip: when the circuit is half-open
# nothing is counted (the caller settles the probe); otherwise the calls and failures of this
# window and the last come back for the failure-rate check.
_COUNT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, 0} end
local window = tonumber(ARGV[3])
local function count(now, before, value)
  local n = redis.call('INCRBY', now, value)
  redis.call('EXPIRE', now, window)
  return n + (tonumber(redis.call('GET', before)) or 0)
end
local calls = count(KEYS[2], KEYS[3], ARGV[1])
local fails = count(KEYS[4], KEYS[5], ARGV[2])
return {calls, fails}
"""


@cache
def _count_script() -> redis.commands.core.Script:
    return redis_client().register_script(_COUNT)


def breaker_record(*, provider: str, calls: int, failures: int) -> str:
    """Count a batch's outcome; returns the breaker's state afterwards."""
    if calls == 0:
        return breaker_state(provider=provider)
    window = settings.NOTIFY_BREAKER_WINDOW_SECONDS
    bucket = int(time.time() // window)
    key = f"notify:breaker:{provider}"
    try:
        client = redis_client()
        total, failed = _count_script()(
            keys=[
                f"{key}:half",
                f"{key}:calls:{bucket}",
                f"{key}:calls:{bucket - 1}",
                f"{key}:fails:{bucket}",
                f"{key}:fails:{bucket - 1}",
            ],
            args=[calls, failures, window * 3],
        )
        if total < 0:  # half-open: this batch was the probe
            client.delete(f"{key}:probe")
            if failures:
                return _open(client, provider)
            client.delete(f"{key}:half")
            logger.warning("%s: circuit closed after a successful probe", provider)
            return "closed"
        if total >= settings.NOTIFY_BREAKER_MIN_CALLS and (
            failed / total >= settings.NOTIFY_BREAKER_FAILURE_RATE
        ):
            return _open(client, provider)
    except redis.RedisError:
        return "unknown"
    return "closed"


def _open(client: redis.Redis, provider: str) -> str:
    key = f"notify:breaker:{provider}"
    open_ms = int(settings.NOTIFY_BREAKER_OPEN_SECONDS * 1000)
    pipe = client.pipeline()
    pipe.set(f"{key}:open", 1, px=open_ms)
    # Once `open` expires, `half` remains: the next batch is a probe.
    pipe.set(f"{key}:half", 1, px=open_ms * 10)
    pipe.delete(
        *[k for k in client.scan_iter(f"{key}:calls:*")],
        *[k for k in client.scan_iter(f"{key}:fails:*")],
        f"{key}:probe",
    )
    pipe.execute()
    logger.error("%s: circuit opened; no sends for %.0f s", provider, open_ms / 1000)
    return "open"


def breaker_state(*, provider: str) -> str:
    try:
        client = redis_client()
        if client.exists(f"notify:breaker:{provider}:open"):
            return "open"
        if client.exists(f"notify:breaker:{provider}:half"):
            return "half-open"
    except redis.RedisError:
        return "unknown"
    return "closed"
