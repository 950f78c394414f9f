"""What holds a claim back: a paused provider (email fails over to the next one), a tenant's
pause on every claim path, and the provider's rate, which a claim follows, giving back what
it did not use."""

from __future__ import annotations

from typing import Any

import redis

from notify.models import Delivery
from notify.models.notifications import Priority
from notify.services.delivering.protection import provider_pause
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from tests.services import rows
from tests.services.rows import forget_provider_state


def test_a_claim_waits_while_the_only_provider_is_paused_and_takes_nothing(
    db: Any, redis_db: redis.Redis
) -> None:
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-paused")
    rows.deliveries(notification, 2, channel="sms", to="+1415555010{i}")
    provider_pause(provider="twilio", seconds=20)
    stream = DeliveryStream(channel="sms", lane="standard", limit=10)

    claimed = stream.claim(10)

    assert claimed.items == [] and 15 < claimed.wait <= 20
    assert set(Delivery.objects.filter(channel="sms").values_list("status", "attempts")) == {
        ("pending", 0)
    }


def test_email_fails_over_to_the_next_provider_while_the_first_is_paused(
    db: Any, redis_db: redis.Redis
) -> None:
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-failover")
    rows.deliveries(notification, 1, to="fo-{i}@example.com")
    provider_pause(provider="smtp", seconds=20)
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    [item] = stream.claim(10).items

    assert item.message.provider == "postmark"
    assert item.message.to == "fo-0@example.com"


def test_a_tenants_pause_holds_back_its_deliveries_on_every_claim_path(
    db: Any, provider_state: redis.Redis
) -> None:
    from notify.services.operations.pauses import pause_set

    ours = rows.deliveries(rows.notification_for("u-ours"), 2, to="ours-{i}@example.com")
    held = rows.notification_for("u-held", tenant="acme")
    rows.deliveries(held, 2, to="held-{i}@example.com", priority=Priority.HIGH)
    rows.deliveries(held, 1, to="held-lost@example.com", error_code="worker_lost")
    pause_set(kind="channel", target="email", tenant="acme", reason="audit", paused_by="t")
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    [first] = stream.claim(1).items
    _, rest = deliveries_claim(channel="email", lane="standard", limit=10)
    # Only the paused tenant's quarantined delivery is due now: still nothing of theirs.
    assert stream.claim(10).items == []

    assert {first.delivery.id} | {d.id for d in rest} == {d.id for d in ours}
    assert set(Delivery.objects.filter(notification=held).values_list("status", "attempts")) == {
        ("pending", 0)
    }


def test_claims_follow_the_providers_rate_and_give_back_what_they_did_not_use(
    db: Any, provider_state: redis.Redis, settings: Any
) -> None:
    """Twilio at 2 messages a second (a bucket of 2): an urgent claim asks for 2, finds one
    message and gives the other token back, which the standard lane then uses; with the
    bucket empty a claim takes nothing, not even work whose worker died, and says how long
    to wait."""
    settings.NOTIFY_RATE_LIMITS = {"twilio": 2}
    notification = rows.notification_for("u-rate")
    rows.deliveries(notification, 1, channel="sms", to="+1415555012{i}", priority=Priority.HIGH)
    rows.deliveries(notification, 3, channel="sms", to="+1415555013{i}")
    [lost] = rows.deliveries(
        notification,
        1,
        channel="sms",
        to="+14155550149",
        priority=Priority.LOW,
        error_code="worker_lost",
    )
    urgent = DeliveryStream(channel="sms", lane="urgent", limit=10)
    standard = DeliveryStream(channel="sms", lane="standard", limit=10)

    first, second, third = urgent.claim(2), standard.claim(2), standard.claim(2)

    assert (len(first.items), first.wait) == (1, 0)
    assert (len(second.items), second.wait) == (1, 0)
    assert third.items == [] and 0 < third.wait <= 0.5
    assert Delivery.objects.get(id=lost.id).attempts == 0


def test_choosing_a_provider_costs_no_send_and_waits_out_an_operators_pause(
    db: Any, provider_state: redis.Redis, settings: Any
) -> None:
    """_choose_provider (which provider a send may use now; the pauses API tests ask it)
    only looks: the one token of Twilio's bucket is still there for the claim after it."""
    from notify.services.delivering.sending import _choose_provider
    from notify.services.operations.pauses import EVERY_TENANT, pause_set

    settings.NOTIFY_RATE_LIMITS = {"twilio": 1}
    rows.deliveries(rows.notification_for("u-choose"), 1, channel="sms", to="+14155550150")

    assert _choose_provider("sms") == ("twilio", 0.0)
    assert len(DeliveryStream(channel="sms", lane="standard", limit=10).claim(1).items) == 1
    pause_set(kind="channel", target="sms", tenant=EVERY_TENANT, reason="incident", paused_by="t")
    assert _choose_provider("sms") == ("", float("inf"))
