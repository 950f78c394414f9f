"""Pauses against the real Postgres and Redis: the audit row and the live Redis state move
together, a second pause keeps the first, a tenant's pause is its own, beat puts back what
Redis lost, and targets that cannot be paused are refused."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from notify.models.operations import Pause
from notify.services.delivering.protection import channel_paused, tenants_paused
from notify.services.operations.pauses import (
    EVERY_TENANT,
    pause_lift,
    pause_set,
    pause_states,
    pauses_in_force,
    pauses_restore,
)
from tests.services.rows import forget_provider_state


@pytest.fixture
def clean(transactional_db: Any, redis_db: redis.Redis) -> redis.Redis:
    forget_provider_state(redis_db)
    for key in redis_db.scan_iter("notify:pause:*"):
        redis_db.delete(key)
    return redis_db


def test_a_pause_of_everyone_is_recorded_and_seen_until_lifted(clean: redis.Redis) -> None:
    first = pause_set(kind="channel", target="sms", tenant=EVERY_TENANT, reason="r", paused_by="a")
    again = pause_set(kind="channel", target="sms", tenant=EVERY_TENANT, reason="x", paused_by="b")

    assert again.pk == first.pk and again.reason == "r"
    assert channel_paused(channel="sms") and not channel_paused(channel="email")
    assert pauses_in_force() == [first]

    lifted = pause_lift(kind="channel", target="sms", tenant=EVERY_TENANT, resumed_by="c")

    assert lifted is not None and lifted.resumed_by == "c"
    assert not channel_paused(channel="sms")
    assert pauses_in_force() == []
    assert pause_lift(kind="channel", target="sms", tenant=EVERY_TENANT, resumed_by="c") is None


def test_a_tenants_pause_holds_back_only_that_tenant(clean: redis.Redis) -> None:
    pause_set(kind="channel", target="email", tenant="acme", reason="r", paused_by="k")

    assert tenants_paused(channel="email") == ["acme"]
    assert not channel_paused(channel="email")
    mine = {s.name: s for s in pause_states(kind="channel", tenant="acme")}
    theirs = {s.name: s for s in pause_states(kind="channel", tenant="other")}
    assert mine["email"].paused and not mine["email"].platform_paused
    assert not theirs["email"].paused

    pause_lift(kind="channel", target="email", tenant="acme", resumed_by="k")
    assert tenants_paused(channel="email") == []


def test_beat_puts_back_the_pauses_redis_lost(clean: redis.Redis) -> None:
    pause_set(kind="provider", target="twilio", tenant=EVERY_TENANT, reason="r", paused_by="a")
    pause_set(kind="channel", target="push", tenant="acme", reason="r", paused_by="k")
    clean.delete("notify:pause:provider:twilio", "notify:pause:tenants:push")

    assert pauses_restore() == 2
    assert clean.get("notify:pause:provider:twilio") == b"a"
    assert tenants_paused(channel="push") == ["acme"]
    assert pauses_restore() == 0


def test_a_provider_state_names_its_channels_and_circuit(clean: redis.Redis) -> None:
    pause_set(kind="provider", target="twilio", tenant=EVERY_TENANT, reason="r", paused_by="a")

    twilio = next(s for s in pause_states(kind="provider", tenant="acme") if s.name == "twilio")

    assert (twilio.channels, twilio.platform_paused, twilio.circuit) == (["sms"], True, "closed")


@pytest.mark.parametrize(
    ("kind", "target", "tenant", "message"),
    [
        ("channel", "fax", EVERY_TENANT, "unknown channel"),
        ("provider", "nope", EVERY_TENANT, "unknown provider"),
        ("provider", "twilio", "acme", "for every tenant or not at all"),
    ],
)
def test_what_cannot_be_paused_is_refused(
    clean: redis.Redis, kind: str, target: str, tenant: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pause_set(kind=kind, target=target, tenant=tenant, reason="r", paused_by="a")
    assert not Pause.objects.exists()
