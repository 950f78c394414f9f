"""Every Redis check a delivery claim makes, in one round trip: the operator's channel pause,
the tenants that paused the channel for themselves, and for each provider in failover order
its operator pause, its 429 pause, its circuit (open, or half-open and someone else probing)
and a take from its token bucket. Before this script a claim made six to eight round trips
for the same answers (protection.py's functions, which still serve the admin and the API,
one check each); at ordinary load a claim takes one message, so those round trips were a
large part of the worker's CPU per delivery (docs/benchmark.md).

Same semantics as protection.py, failing open like it: if Redis is unreachable the first
provider is used, unthrottled, and no tenant is paused."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache

import redis
from django.conf import settings

from channels import providers_for
from notify.redis_client import redis_client
from notify.services.delivering.protection import (
    PAUSED_UNTIL_RESUMED,
    operator_pause_key,
    tenant_pause_key,
)

logger = logging.getLogger(__name__)

_KEYS_PER_PROVIDER = 6
# KEYS: channel pause, tenant pause set, then per provider: operator pause, 429 pause,
# breaker open, breaker half-open, breaker probe, rate bucket.
# ARGV: want, probe lease ms, then per provider its rate (0: unlimited).
# Returns {provider index (1-based, 0: none), wait ms (-1: until an operator resumes),
# granted, tenants...}.
_GATE = """
local want, probe_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local tenants = redis.call('SMEMBERS', KEYS[2])
local function answer(index, wait, granted)
  local out = {index, wait, granted}
  for _, t in ipairs(tenants) do out[#out + 1] = t end
  return out
end
if redis.call('EXISTS', KEYS[1]) == 1 then return answer(0, -1, 0) end
local best = -1
for i = 0, (#KEYS - 2) / 6 - 1 do
  local k = 2 + i * 6
  local wait = 0
  if redis.call('EXISTS', KEYS[k + 1]) == 1 then
    wait = -1
  else
    local paused = redis.call('PTTL', KEYS[k + 2])
    local open = redis.call('PTTL', KEYS[k + 3])
    if paused > 0 then
      wait = paused
    elseif open > 0 then
      wait = open
    elseif redis.call('EXISTS', KEYS[k + 4]) == 1 then
      -- Half-open: one probe batch at a time.
      if not redis.call('SET', KEYS[k + 5], 1, 'NX', 'PX', probe_ms) then wait = probe_ms end
    end
  end
  if wait == 0 then
    local rate = tonumber(ARGV[3 + i])
    if rate <= 0 then return answer(i + 1, 0, want) end
    local burst = math.max(1, rate)
    local t = redis.call('TIME')
    local now = t[1] + t[2] / 1e6
    local state = redis.call('HMGET', KEYS[k + 6], 'tokens', 'ts')
    local tokens = tonumber(state[1]) or burst
    local ts = tonumber(state[2]) or now
    tokens = math.min(burst, tokens + (now - ts) * rate)
    local granted = math.min(want, math.floor(tokens))
    tokens = tokens - granted
    redis.call('HSET', KEYS[k + 6], 'tokens', tokens, 'ts', now)
    redis.call('EXPIRE', KEYS[k + 6], 3600)
    local until_one = 0
    if granted == 0 then until_one = math.ceil((1 - tokens) / rate * 1000) end
    return answer(i + 1, until_one, granted)
  end
  if wait > 0 and (best < 0 or wait < best) then best = wait end
end
return answer(0, best, 0)
"""


@dataclass(frozen=True)
class Gate:
    """May a claim on the channel go ahead: through `provider` (empty: none may be sent to
    now), for up to `granted` messages; else not for `wait` seconds (PAUSED_UNTIL_RESUMED
    while an operator's pause holds). `tenants_paused`: tenants whose sends wait."""

    provider: str
    granted: int
    wait: float
    tenants_paused: list[str] = field(default_factory=list)


@cache
def _script() -> redis.commands.core.Script:
    return redis_client().register_script(_GATE)


def claim_gate(*, channel: str, want: int) -> Gate:
    providers = providers_for(channel)
    keys = [operator_pause_key("channel", channel), tenant_pause_key(channel)]
    rates = []
    for provider in providers:
        breaker = f"notify:breaker:{provider}"
        keys += [
            operator_pause_key("provider", provider),
            f"notify:pause:{provider}",
            f"{breaker}:open",
            f"{breaker}:half",
            f"{breaker}:probe",
            f"notify:rate:{provider}",
        ]
        rates.append(float(settings.NOTIFY_RATE_LIMITS.get(provider) or 0))
    probe_ms = int(settings.NOTIFY_BREAKER_OPEN_SECONDS * 1000)
    try:
        index, wait_ms, granted, *tenants = _script()(keys=keys, args=[want, probe_ms, *rates])
    except redis.RedisError:
        logger.warning("claim checks unreachable on %s; sending unthrottled", channel)
        return Gate(provider=providers[0], granted=want, wait=0.0)
    paused = sorted(t.decode() if isinstance(t, bytes) else str(t) for t in tenants)
    wait = PAUSED_UNTIL_RESUMED if int(wait_ms) < 0 else int(wait_ms) / 1000
    if not index:
        return Gate(provider="", granted=0, wait=wait, tenants_paused=paused)
    return Gate(providers[int(index) - 1], int(granted), wait, paused)
