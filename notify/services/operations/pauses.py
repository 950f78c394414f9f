"""Pausing a provider or a channel until it is resumed. Two kinds of pause:

- for every tenant (tenant EVERY_TENANT): a platform operation, by an admin user or a key
  with the `platform` scope. Providers are shared, so they are only paused this way. The live
  state is a Redis key without expiry (notify.services.delivering.protection.operator_pause_key).
- for one tenant, of a channel: that tenant's own sends on the channel wait. The live state
  is the tenant's membership of a Redis set per channel (tenants_paused), read by the
  delivery claim.

Both are read by every drain, so every worker stops at once; the Pause row is the audit trail
(who, when, why) and puts the Redis state back if Redis loses it. While paused nothing is
claimed: deliveries stay pending and spend no attempt. Email whose primary provider is paused
fails over to the next one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels import all_providers, providers_for
from channels import names as channel_names
from notify.models.operations import Pause
from notify.redis_client import redis_client
from notify.services.delivering.protection import (
    breaker_state,
    operator_pause_key,
    tenant_pause_key,
)
from notify.services.outbox.doorbell import STANDARD, URGENT, bell_ring

logger = logging.getLogger(__name__)

EVERY_TENANT = ""  # Pause.tenant of a pause that holds back every tenant


def pause_targets(kind: str) -> tuple[str, ...]:
    """What can be paused: every provider of every registered channel (whether configured
    or not, so a pause can be set before a failover provider is switched on), or every
    registered channel."""
    if kind == Pause.Kind.PROVIDER:
        return all_providers()
    return channel_names() if kind == Pause.Kind.CHANNEL else ()


class PauseUnavailable(Exception):
    """Redis could not record the pause, so workers would not see it."""


@dataclass(frozen=True)
class PauseState:
    kind: str
    name: str
    channels: list[str]
    platform: Pause | None  # the pause of every tenant in force, if any
    own: Pause | None  # the asking tenant's own pause in force, if any
    circuit: str  # providers only: closed, open, half-open or unknown; "" for channels

    @property
    def paused(self) -> bool:
        return self.platform is not None or self.own is not None

    @property
    def platform_paused(self) -> bool:
        return self.platform is not None


def pause_set(*, kind: str, target: str, tenant: str, reason: str, paused_by: str) -> Pause:
    """Pause `target` for `tenant` (EVERY_TENANT: for everyone) until resumed; pausing what
    is already paused keeps the first pause."""
    _check(kind, target, tenant)
    open_pause = Pause.objects.filter(
        kind=kind, target=target, tenant=tenant, resumed_at__isnull=True
    )
    created = False
    try:
        with transaction.atomic():
            pause = open_pause.first()
            if pause is None:
                pause = Pause.objects.create(
                    kind=kind, target=target, tenant=tenant, reason=reason, paused_by=paused_by
                )
                created = True
            # Inside the transaction: if Redis refuses, no audit row claims a pause.
            _hold(redis_client(), pause)
    except redis.RedisError as exc:
        raise PauseUnavailable("Redis is unavailable; nothing was paused.") from exc
    except IntegrityError:  # paused concurrently by someone else
        pause, created = open_pause.get(), False
    if created:
        logger.warning("%s paused by %s: %s", pause, paused_by, reason)
    return pause


def pause_lift(*, kind: str, target: str, tenant: str, resumed_by: str) -> Pause | None:
    """Lift `tenant`'s pause of `target` (EVERY_TENANT: the pause of everyone; a tenant's
    resume never lifts it) and ring the doorbells; None if it was not paused."""
    _check(kind, target, tenant)
    try:
        with transaction.atomic():
            pause = (
                Pause.objects.select_for_update()
                .filter(kind=kind, target=target, tenant=tenant, resumed_at__isnull=True)
                .first()
            )
            if pause is not None:
                pause.resumed_by, pause.resumed_at = resumed_by, timezone.now()
                pause.save(update_fields=["resumed_by", "resumed_at"])
            # Should the commit fail after this, beat puts the key back: still paused.
            client = redis_client()
            if tenant == EVERY_TENANT:
                client.delete(operator_pause_key(kind, target))
            else:
                client.srem(tenant_pause_key(target), tenant)
    except redis.RedisError as exc:
        raise PauseUnavailable("Redis is unavailable; the pause is still in force.") from exc
    channels = [target] if kind == Pause.Kind.CHANNEL else _channels_of(target)
    for channel in channels:
        for lane in (STANDARD, URGENT):
            bell_ring(channel=channel, lane=lane, force=True)
    if pause is not None:
        logger.warning("%s resumed by %s", pause, resumed_by)
    return pause


def pauses_restore() -> int:
    """Run by beat: put back the Redis state of every open pause (Redis restarted or
    flushed). Returns how many were missing."""
    restored = 0
    try:
        client = redis_client()
        for pause in Pause.objects.filter(resumed_at__isnull=True):
            if _hold(client, pause, only_if_missing=True):
                restored += 1
                logger.warning("%s: pause restored in Redis", pause)
    except redis.RedisError:
        logger.warning("pauses: Redis unavailable; pauses not restored", exc_info=True)
    return restored


def pause_states(*, kind: str, tenant: str) -> list[PauseState]:
    """Every provider (or channel) as `tenant` sees it: the pause of everyone and the
    tenant's own pause in force, and a provider's circuit. Another tenant's pause is never
    part of it."""
    platform: dict[str, Pause] = {}
    own: dict[str, Pause] = {}
    for p in Pause.objects.filter(
        kind=kind, tenant__in={EVERY_TENANT, tenant}, resumed_at__isnull=True
    ):
        (platform if p.tenant == EVERY_TENANT else own)[p.target] = p
    return [
        PauseState(
            kind=kind,
            name=name,
            channels=_channels_of(name) if kind == Pause.Kind.PROVIDER else [name],
            platform=platform.get(name),
            own=own.get(name),
            circuit=breaker_state(provider=name) if kind == Pause.Kind.PROVIDER else "",
        )
        for name in pause_targets(kind)
    ]


def pauses_in_force() -> list[Pause]:
    """Every open pause, of every tenant: for the platform's operators."""
    return list(Pause.objects.filter(resumed_at__isnull=True).order_by("kind", "target", "tenant"))


def _hold(client: redis.Redis, pause: Pause, *, only_if_missing: bool = False) -> bool:
    """Write the pause's live state; True if it was not there before."""
    if pause.tenant == EVERY_TENANT:
        key = operator_pause_key(pause.kind, pause.target)
        return bool(client.set(key, pause.paused_by, nx=only_if_missing))
    return bool(client.sadd(tenant_pause_key(pause.target), pause.tenant))


def _channels_of(provider: str) -> list[str]:
    return [c for c in channel_names() if provider in providers_for(c)]


def _check(kind: str, target: str, tenant: str) -> None:
    if target not in pause_targets(kind):
        raise ValueError(f"unknown {kind}: {target!r}")
    if kind == Pause.Kind.PROVIDER and tenant != EVERY_TENANT:
        # Providers are shared: a tenant holds back its own sends by pausing a channel.
        raise ValueError("a provider is paused for every tenant or not at all")
