"""The per-key API rate limit: at most N notifications (reads count one each) per API key in
any window of the rate's period, across every web process. One Redis script decides, so
concurrent callers cannot both read "one left" and both pass. A key's own `rate_limit`
replaces the NOTIFY_API_RATE default; no key is exempt. If Redis is unreachable the limit
fails open, like the provider limits: the outbox in Postgres keeps accepting through a Redis
outage, and a 500 on every request would turn that outage into an API outage."""

from __future__ import annotations

import logging
import math
import re
from functools import cache
from typing import NamedTuple

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notify.models.apikeys import ApiKey
from notify.redis_client import redis_client

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*([0-9]+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
RATE_HELP = "A number per period: N/s, N/m, N/h or N/d, e.g. 500/s or 10000/h."

# A sliding log: each admitted request is a sorted-set member "<seq>:<count>" scored by the
# time it was admitted (Redis's clock, shared by every web process); a hash keeps the running
# total so admitting costs O(log n), not a sum over the window. Entries older than the period
# are subtracted and dropped first. Refused: the seconds until enough of the oldest entries
# age out, or -1 when `want` exceeds the whole limit and waiting cannot help.
_TAKE = """
local limit, period, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local log, meta = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local function count(member) return tonumber(string.match(member, ':(%d+)$')) end
local total = tonumber(redis.call('HGET', meta, 'total'))
local old = redis.call('ZRANGEBYSCORE', log, '-inf', now - period)
if #old > 0 then redis.call('ZREMRANGEBYSCORE', log, '-inf', now - period) end
if total == nil then
  -- The hash was lost (evicted) while the log was not: rebuild the total from the log.
  total = 0
  for _, m in ipairs(redis.call('ZRANGE', log, 0, -1)) do total = total + count(m) end
else
  for _, m in ipairs(old) do total = total - count(m) end
end
local ttl = math.ceil(period) + 1
redis.call('HSET', meta, 'total', total)
redis.call('EXPIRE', meta, ttl)
if want > limit then return {0, -1} end
if total + want <= limit then
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  redis.call('ZADD', log, now, seq .. ':' .. want)
  redis.call('HSET', meta, 'total', total + want)
  redis.call('EXPIRE', log, ttl)
  return {1, 0}
end
local need, freed, start = total + want - limit, 0, 0
while true do
  local batch = redis.call('ZRANGE', log, start, start + 99, 'WITHSCORES')
  if #batch == 0 then return {0, math.ceil(period * 1000)} end
  for i = 1, #batch, 2 do
    freed = freed + count(batch[i])
    if freed >= need then
      return {0, math.max(1, math.ceil((tonumber(batch[i + 1]) + period - now) * 1000))}
    end
  end
  start = start + 100
end
"""


@cache
def _take_script() -> redis.commands.core.Script:
    # EVALSHA: the script's text crosses the wire once per process, not on every request.
    return redis_client().register_script(_TAKE)


class RateDecision(NamedTuple):
    allowed: bool
    # Seconds until the same request would pass; math.inf when it never can (it carries more
    # notifications than the key's whole limit), 0 when allowed.
    retry_after: float


class Rate(NamedTuple):
    limit: int
    period: int  # seconds

    def __str__(self) -> str:
        unit = {v: k for k, v in _PERIODS.items()}[self.period]
        return f"{self.limit}/{unit}"


def rate_parse(*, value: str) -> Rate:
    """Parse "N/s", "N/m", "N/h" or "N/d" (DRF's syntax; "100/second" too). N must be at
    least 1: a key that may send nothing is a revoked key."""
    match = _RATE.match(value)
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"{value!r} is not a rate. {RATE_HELP}")
    return Rate(int(match.group(1)), _PERIODS[match.group(2)[0]])


def rate_for_key(*, key: ApiKey) -> Rate | None:
    """The key's own limit, else NOTIFY_API_RATE; None when neither sets one."""
    if key.rate_limit:
        return rate_parse(value=key.rate_limit)
    default = str(settings.NOTIFY_API_RATE or "").strip()
    if not default:
        return None
    try:
        return rate_parse(value=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"NOTIFY_API_RATE: {exc}") from exc


def rate_limit_take(*, key: ApiKey, count: int = 1) -> RateDecision:
    """Spend `count` of the key's budget (one per notification a request creates, one for any
    other request), all or nothing."""
    if count < 1:
        raise ValueError("count must be at least 1")
    rate = rate_for_key(key=key)
    if rate is None:
        return RateDecision(True, 0.0)
    tag = f"notify:apirate:{{{key.pk}}}"  # one hash slot for both keys, should Redis shard
    try:
        allowed, wait_ms = _take_script()(
            keys=[f"{tag}:log", f"{tag}:meta"], args=[rate.limit, rate.period, count]
        )
    except redis.RedisError:
        logger.warning("API rate limiter unreachable; key %s not limited", key.prefix)
        return RateDecision(True, 0.0)
    if allowed:
        return RateDecision(True, 0.0)
    return RateDecision(False, math.inf if int(wait_ms) < 0 else int(wait_ms) / 1000)
