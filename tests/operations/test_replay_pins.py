"""Deliveries pinned to a provider this release does not configure (a release with another
email backend pinned them after an ambiguous send, then was rolled back; or the provider was
taken out of EMAIL_PROVIDERS): the pin cannot be honoured. A replay lifts it, so the message
goes through a configured provider at once; a pin to a configured provider stays (that
provider may already have the message)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.delivering.sending import DeliveryStream
from tests.harness import Sandbox
from tests.services import rows
from tests.services.rows import forget_provider_state


@pytest.fixture(autouse=True)
def provider_state(redis_db: redis.Redis) -> Iterator[None]:
    forget_provider_state(redis_db)
    yield
    forget_provider_state(redis_db)


def _send_email() -> None:
    """One round of the email lane as a worker runs it (made due by hand: Postgres' now() is
    the test transaction's start)."""
    Delivery.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    stream = DeliveryStream(channel="email", lane="standard", limit=10)
    claimed = stream.claim(10)
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])


def _row(delivery: Delivery) -> tuple[str, str, str, str]:
    row = Delivery.objects.get(id=delivery.id)
    return row.status, row.error_code, row.provider, row.pinned_provider


def test_a_pin_to_a_provider_this_release_lacks_costs_one_attempt_then_it_is_dropped(
    db: Any, sandbox: Sandbox
) -> None:
    """What happens without a replay: the pinned attempt fails as an internal error (a
    transient one), its outcome drops the pin, and the retry goes through a configured
    provider. Only a pinned attempt that was the last one ends `failed`."""
    notification = rows.notification_for("u-pinned-once")
    [delivery] = rows.deliveries(notification, 1, to="once-{i}@example.com")
    Delivery.objects.filter(id=delivery.id).update(pinned_provider="sendgrid")

    _send_email()
    assert _row(delivery) == ("pending", "internal", "sendgrid", "")
    _send_email()

    assert _row(delivery) == ("sent", "", "smtp", "")
    assert [m["to"] for m in sandbox.accepted(provider="smtp")] == ["once-0@example.com"]


def test_a_replay_lifts_a_pin_to_an_unconfigured_provider_and_keeps_the_others(
    api: APIClient, db: Any, sandbox: Sandbox
) -> None:
    notification = rows.notification_for("u-pinned")
    # As an ambiguous last attempt leaves them: failed, pinned to the provider it went to.
    [lost, kept] = rows.deliveries(
        notification, 2, to="pinned-{i}@example.com", status="failed", error_code="timeout"
    )
    Delivery.objects.filter(id=lost.id).update(provider="sendgrid", pinned_provider="sendgrid")
    Delivery.objects.filter(id=kept.id).update(provider="smtp", pinned_provider="smtp")

    response = api.post(
        "/api/v1/deliveries/replay/", {"ids": [str(lost.id), str(kept.id)]}, format="json"
    )

    assert response.status_code == 202, response.content
    assert response.json()["count"] == 2
    assert _row(lost)[::3] == ("pending", "")
    assert _row(kept)[::3] == ("pending", "smtp")
    _send_email()
    assert _row(lost) == ("sent", "", "smtp", "")
    assert _row(kept) == ("sent", "", "smtp", "")
    received = sandbox.accepted(provider="smtp")
    assert sorted(m["to"] for m in received) == ["pinned-0@example.com", "pinned-1@example.com"]
