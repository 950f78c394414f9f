"""The single create's cost in round trips: a known key, recipient and device add none."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import Delivery, Device

pytestmark = pytest.mark.django_db

RECIPIENT: dict[str, Any] = {"id": "ada", "email": "ada@example.com", "push_tokens": ["tok-1"]}
BODY = {
    "recipient": RECIPIENT,
    "content": {"email": {"subject": "Hi", "text": "t"}, "push": {"title": "Hi"}},
}


@override_settings(NOTIFY_API_KEY_CACHE_SECONDS=10, NOTIFY_FREQUENCY_CAP="")
def test_a_repeat_create_for_a_known_recipient_and_device_stays_within_its_queries(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    assert api.post("/api/v1/notifications/", BODY, format="json").status_code == 202

    # Recipient with its tokens, category, notification, devices, suppressions, deliveries,
    # and the savepoint pair of the create's transaction inside the test's.
    with django_assert_max_num_queries(8):
        response = api.post("/api/v1/notifications/", BODY, format="json")

    assert response.status_code == 202
    assert sorted(d["channel"] for d in response.json()["deliveries"]) == ["email", "push"]
    assert Device.objects.get().token == "tok-1"


def test_a_new_or_inactive_token_is_still_registered(api: APIClient) -> None:
    api.post("/api/v1/notifications/", BODY, format="json")
    Device.objects.update(active=False, deactivated_reason="unregistered")
    body = {**BODY, "recipient": {**RECIPIENT, "push_tokens": ["tok-1", "tok-2"]}}

    response = api.post("/api/v1/notifications/", body, format="json")

    assert response.status_code == 202
    devices = {d.token: d.active for d in Device.objects.all()}
    assert devices == {"tok-1": True, "tok-2": True}
    pushed = Delivery.objects.filter(notification_id=response.json()["id"], channel="push")
    assert sorted(pushed.values_list("to", flat=True)) == ["tok-1", "tok-2"]
