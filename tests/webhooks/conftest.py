from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from notify.models import Delivery, Notification, Recipient
from tests.services.rows import forget_provider_state
from tests.webhooks.fallback_calls import ESP_SECRET


@pytest.fixture
def make_delivery(db: Any) -> Any:
    def make(
        channel: str = "sms",
        to: str = "+14155552671",
        status: str = "sent",
        tenant: str = "default",
        **fields: Any,
    ) -> Delivery:
        recipient, _ = Recipient.objects.get_or_create(
            tenant=tenant,
            external_id="hooked",
            defaults={"phone": "+14155552671", "email": "hooked@example.com"},
        )
        notification = Notification.objects.create(recipient=recipient, tenant=tenant, content={})
        return Delivery.objects.create(
            notification=notification,
            channel=channel,
            to=to,
            status=status,
            next_attempt_at=timezone.now(),
            **fields,
        )

    return make


@pytest.fixture
def fallback_provider_state(redis_db: redis.Redis) -> Iterator[redis.Redis]:
    """For the fallback tests: no provider pause, circuit or rate bucket from another test,
    and ESP webhooks signed with the secret their bounces use."""
    forget_provider_state(redis_db)
    with override_settings(ANYMAIL={**settings.ANYMAIL, "WEBHOOK_SECRET": ESP_SECRET}):
        yield redis_db
    forget_provider_state(redis_db)
