"""Webhook endpoints and the events recorded for them: registration rules, secrets, and one
outbox row per status change and matching endpoint of the key that sent the notification."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import ApiKey, WebhookDelivery, WebhookEndpoint
from notify.services.access.apikeys import api_key_create
from notify.services.delivering.events import DeliveryChange
from notify.services.webhooks.endpoints import (
    InvalidWebhook,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_events_record,
)
from tests.services import rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(settings: Any) -> ApiKey:
    settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE = True  # the test's receivers are local
    return api_key_create(name="hooks")[0]


def _change(delivery_id: Any, status: str, **fields: Any) -> DeliveryChange:
    return DeliveryChange(
        delivery_id=str(delivery_id), notification_id="n", channel="email", status=status, **fields
    )


def test_an_endpoint_gets_a_secret_and_only_known_events(key: ApiKey) -> None:
    endpoint = webhook_endpoint_create(
        api_key=key, url="http://127.0.0.1:9/in", events=["failed", "bogus", "sent"]
    )
    assert endpoint.events == ["sent", "failed"]  # in the documented order
    assert endpoint.secret.startswith("whsec_")

    old = endpoint.secret
    assert webhook_endpoint_rotate_secret(endpoint=endpoint).secret != old
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret != old

    webhook_endpoint_delete(endpoint=endpoint)
    assert not WebhookEndpoint.objects.exists()


def test_urls_notify_must_not_call_and_too_many_endpoints_are_refused(
    key: ApiKey, settings: Any
) -> None:
    with pytest.raises(InvalidWebhook, match="Only http and https") as refused:
        webhook_endpoint_create(api_key=key, url="file:///etc/passwd")
    assert refused.value.field == "url"

    settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(InvalidWebhook, match="private"):
        webhook_endpoint_create(api_key=key, url="http://127.0.0.1/in")

    settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE, settings.NOTIFY_WEBHOOK_MAX_ENDPOINTS = True, 1
    webhook_endpoint_create(api_key=key, url="http://127.0.0.1:9/a")
    with pytest.raises(InvalidWebhook, match="At most 1") as full:
        webhook_endpoint_create(api_key=key, url="http://127.0.0.1:9/b")
    assert full.value.field == "non_field_errors"
    assert WebhookEndpoint.objects.count() == 1


def test_each_status_change_is_one_event_per_matching_endpoint_of_the_sending_key(
    key: ApiKey,
) -> None:
    everything = webhook_endpoint_create(api_key=key, url="http://127.0.0.1:9/all")
    failures = webhook_endpoint_create(api_key=key, url="http://127.0.0.1:9/f", events=["failed"])
    other_key = api_key_create(name="other")[0]
    webhook_endpoint_create(api_key=other_key, url="http://127.0.0.1:9/other")
    notification = rows.notification_for("u-hooks", api_key=key)
    (delivery,) = rows.deliveries(notification, 1, to="to@example.com")

    count = webhook_events_record(
        changes=[
            _change(delivery.pk, "sent", provider="smtp"),
            _change(delivery.pk, "failed", error_code="550", outcome="permanent"),
            _change(delivery.pk, "pending"),  # a worker's retry: not a status change
            _change(delivery.pk, "sending"),  # not an event
        ]
    )

    assert count == 3
    events = WebhookDelivery.objects.order_by("event_type", "endpoint__url")
    assert [(e.endpoint_id, e.event_type) for e in events] == [
        (everything.pk, "delivery.failed"),
        (failures.pk, "delivery.failed"),
        (everything.pk, "delivery.sent"),
    ]
    data = events[0].payload["data"]
    assert (data["id"], data["status"], data["error_code"], data["error_class"]) == (
        str(delivery.pk),
        "failed",
        "550",
        "permanent",
    )
    assert data["to"] == "to@example.com"


def test_no_event_without_an_active_endpoint_of_that_key(key: ApiKey) -> None:
    notification = rows.notification_for("u-none", api_key=key)
    (delivery,) = rows.deliveries(notification, 1)
    assert webhook_events_record(changes=[_change(delivery.pk, "sent")]) == 0

    endpoint = webhook_endpoint_create(api_key=key, url="http://127.0.0.1:9/off")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
    assert webhook_events_record(changes=[_change(delivery.pk, "sent")]) == 0
    assert not WebhookDelivery.objects.exists()
