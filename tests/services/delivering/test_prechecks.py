"""A delivery whose notification has nothing for its channel fails `no_content` at send and
reaches no provider, in the outbox and in the one-task-per-delivery baseline: the accept
path refuses such messages, so only a row written some other way can get here."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from notify.models import Delivery
from notify.services.delivering.sending import DeliveryStream, deliveries_claim, deliveries_send
from tests.harness import Sandbox
from tests.services import rows
from tests.services.rows import forget_provider_state


@pytest.mark.parametrize("content", [{"email": {"subject": "s", "text": "t"}}, {"sms": {}}])
def test_a_delivery_with_no_content_for_its_channel_fails_and_is_not_sent(
    db: Any, sandbox: Sandbox, redis_db: redis.Redis, content: dict[str, Any]
) -> None:
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-no-content")
    notification.content = content
    notification.save(update_fields=["content"])
    [blank] = rows.deliveries(notification, 1, channel="sms", to="+14155550123")
    stream = DeliveryStream(channel="sms", lane="standard", limit=10)

    claimed = stream.claim(10)
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])

    failed = Delivery.objects.get(id=blank.id)
    assert (failed.status, failed.error_code) == ("failed", "no_content")
    assert "no sms content" in failed.last_error
    assert sandbox.messages(provider="twilio") == []


def test_the_baseline_also_fails_a_delivery_with_no_content(
    db: Any, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-no-content-baseline")
    notification.content = {"sms": {"text": "t"}}
    notification.save(update_fields=["content"])
    [blank] = rows.deliveries(notification, 1)  # email

    token, claimed = deliveries_claim(channel="email", lane="standard", limit=10)
    deliveries_send(channel="email", token=token, deliveries=claimed)

    failed = Delivery.objects.get(id=blank.id)
    assert (failed.status, failed.error_code) == ("failed", "no_content")
    assert sandbox.messages(provider="smtp") == []
