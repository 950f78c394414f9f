from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from notify.models import Delivery, Notification, Recipient


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
