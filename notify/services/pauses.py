"""Pausing a provider or a channel until an operator resumes it. The live state is a Redis key
without expiry, read by every drain (notify.services.providers), so every worker stops at
once; the Pause row is the audit trail (who, when, why) and puts the key back if Redis
loses it. While paused nothing is claimed: deliveries stay pending and spend no attempt.
Email whose primary provider is paused fails over to the next one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.db import IntegrityError, transaction
from django.utils import timezone

from notify.models.operations import Pause
from notify.services.doorbell import STANDARD, URGENT, bell_ring, redis_client
from notify.services.providers import breaker_state, operator_pause_key, providers_for

logger = logging.getLogger(__name__)

PROVIDERS = ("twilio", "fcm", "smtp", "postmark", "mailgun")
CHANNELS = ("email", "sms", "push")
TARGETS: dict[str, tuple[str, ...]] = {"provider": PROVIDERS, "channel": CHANNELS}


class PauseUnavailable(Exception):
    """Redis could not record the pause, so workers would not see it."""


@dataclass(frozen=True)
class PauseState:
    kind: str
    name: str
    channels: list[str]
    pause: Pause | None
    circuit: str  # providers only: closed, open, half-open or unknown; "" for channels


def pause_set(*, kind: str, target: str, reason: str, paused_by: str) -> Pause:
    """Pause `target` until resumed; pausing what is already paused keeps the first pause."""
    _check(kind, target)
    open_pause = Pause.objects.filter(kind=kind, target=target, resumed_at__isnull=True)
    created = False
    try:
        with transaction.atomic():
            pause = open_pause.first()
            if pause is None:
                pause = Pause.objects.create(
                    kind=kind, target=target, reason=reason, paused_by=paused_by
                )
                created = True
            # Inside the transaction: if Redis refuses, no audit row claims a pause.
            redis_client().set(operator_pause_key(kind, target), pause.paused_by)
    except redis.RedisError as exc:
        raise PauseUnavailable("Redis is unavailable; nothing was paused.") from exc
    except IntegrityError:  # paused concurrently by someone else
        pause, created = open_pause.get(), False
    if created:
        logger.warning("%s %s paused by %s: %s", kind, target, paused_by, reason)
    return pause


def pause_lift(*, kind: str, target: str, resumed_by: str) -> Pause | None:
    """Resume `target` and ring its channels' doorbells; None if it was not paused."""
    _check(kind, target)
    try:
        with transaction.atomic():
            pause = (
                Pause.objects.select_for_update()
                .filter(kind=kind, target=target, resumed_at__isnull=True)
                .first()
            )
            if pause is not None:
                pause.resumed_by, pause.resumed_at = resumed_by, timezone.now()
                pause.save(update_fields=["resumed_by", "resumed_at"])
            # Should the commit fail after this, beat puts the key back: still paused.
            redis_client().delete(operator_pause_key(kind, target))
    except redis.RedisError as exc:
        raise PauseUnavailable("Redis is unavailable; the pause is still in force.") from exc
    channels = [target] if kind == Pause.Kind.CHANNEL else _channels_of(target)
    for channel in channels:
        for lane in (STANDARD, URGENT):
            bell_ring(channel=channel, lane=lane, force=True)
    if pause is not None:
        logger.warning("%s %s resumed by %s", kind, target, resumed_by)
    return pause


def pauses_restore() -> int:
    """Run by beat: put back the Redis key of every open pause (Redis restarted or flushed).
    Returns how many were missing."""
    restored = 0
    try:
        client = redis_client()
        for pause in Pause.objects.filter(resumed_at__isnull=True):
            if client.set(operator_pause_key(pause.kind, pause.target), pause.paused_by, nx=True):
                restored += 1
                logger.warning("%s %s: pause restored in Redis", pause.kind, pause.target)
    except redis.RedisError:
        logger.warning("pauses: Redis unavailable; pauses not restored", exc_info=True)
    return restored


def pause_states(*, kind: str) -> list[PauseState]:
    """Every provider (or channel), with its open pause and, for a provider, its circuit."""
    open_pauses = {p.target: p for p in Pause.objects.filter(kind=kind, resumed_at__isnull=True)}
    return [
        PauseState(
            kind=kind,
            name=name,
            channels=_channels_of(name) if kind == Pause.Kind.PROVIDER else [name],
            pause=open_pauses.get(name),
            circuit=breaker_state(provider=name) if kind == Pause.Kind.PROVIDER else "",
        )
        for name in TARGETS[kind]
    ]


def _channels_of(provider: str) -> list[str]:
    return [c for c in CHANNELS if provider in providers_for(c)]


def _check(kind: str, target: str) -> None:
    if target not in TARGETS.get(kind, ()):
        raise ValueError(f"unknown {kind}: {target!r}")
