"""POST /api/v1/notifications/batch/ and its limits: the body's shape, the number of items and
bytes, the rate limit counting items, and the send scope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import Notification, Recipient
from notify.services.access.apikeys import api_key_create
from tests.api.batch_calls import URL, item_body, post_items

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"notifications": []},
        {"notifications": "not a list"},
        {"notifications": [item_body(0), "not an object"]},
        {"items": [item_body(0)]},
    ],
)
def test_a_body_that_is_not_a_list_of_notification_objects_is_400(
    api: APIClient, body: Any
) -> None:
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "notifications" in response.json()["fields"]
    assert Notification.objects.count() == Recipient.objects.count() == 0


@override_settings(NOTIFY_BATCH_MAX_ITEMS=3)
def test_more_items_than_the_limit_is_400_and_stores_nothing(api: APIClient) -> None:
    response = post_items(api, [item_body(n) for n in range(4)])

    assert response.status_code == 400
    assert response.json()["fields"] == {"notifications": ["At most 3 notifications per batch."]}
    assert Notification.objects.count() == 0
    assert post_items(api, [item_body(n) for n in range(3)]).status_code == 200


@override_settings(NOTIFY_BATCH_MAX_BYTES=4096)
def test_a_body_over_its_byte_limit_is_413(api: APIClient) -> None:
    items = [item_body(n) for n in range(40)]
    assert len(json.dumps({"notifications": items})) > 4096

    response = post_items(api, items)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert Notification.objects.count() == 0


def test_a_batch_may_be_larger_than_a_single_create_body(producer: APIClient) -> None:
    from django.conf import settings

    items = [
        {**item_body(n), "content": {"email": {"subject": "Hi", "text": "x" * 300}}}
        for n in range(1000)
    ]
    assert len(json.dumps({"notifications": items})) > settings.MAX_REQUEST_BYTES

    response = post_items(producer, items)

    assert response.status_code == 200
    assert Notification.objects.count() == 1000


def test_the_rate_limit_counts_items_not_requests(db: Any) -> None:
    _, raw = api_key_create(name="limited", rate_limit="5/m")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert post_items(api, [item_body(n) for n in range(3)]).status_code == 200
    over = post_items(api, [item_body(n) for n in range(3, 6)])
    whole = post_items(api, [item_body(n) for n in range(6)])

    assert over.status_code == 429
    assert "Retry-After" in over
    assert whole.status_code == 429
    assert "more than this key's whole limit of 5/m" in whole.json()["detail"]
    assert Notification.objects.count() == 3


def test_a_key_with_its_own_limit_sends_a_large_batch(producer: APIClient) -> None:
    response = post_items(producer, [item_body(n) for n in range(500)])

    assert response.status_code == 200
    assert Notification.objects.count() == 500


def test_a_key_without_the_send_scope_is_403(db: Any) -> None:
    _, raw = api_key_create(name="reader", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert post_items(api, [item_body(0)]).status_code == 403
    assert Notification.objects.count() == 0
