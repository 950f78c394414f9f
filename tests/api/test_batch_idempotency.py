"""POST /api/v1/notifications/batch/ with idempotency keys: per item, shared with single
creates, applied in order inside one batch, 409 for a key another request holds, and a
tenant's keys apart from another's."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery, Notification, Recipient
from notify.services.access.apikeys import api_key_create
from tests.api.batch_calls import item_body, post_items

pytestmark = pytest.mark.django_db


def test_an_idempotency_key_replays_per_item_and_a_different_body_is_422(api: APIClient) -> None:
    first = post_items(
        api, [item_body(0, idempotency_key="k-0"), item_body(1, idempotency_key="k-1")]
    )
    assert [r["status"] for r in first.json()["results"]] == [202, 202]

    again = post_items(
        api,
        [
            item_body(0, idempotency_key="k-0"),  # same body: replayed
            {**item_body(1, idempotency_key="k-1"), "priority": "high"},  # different body: 422
            item_body(2, idempotency_key="k-2"),  # new
        ],
    ).json()["results"]

    assert [r["status"] for r in again] == [200, 422, 202]
    assert again[0]["replayed"] is True
    assert again[0]["notification"]["id"] == first.json()["results"][0]["notification"]["id"]
    assert again[1]["error"]["error"] == "unprocessable"
    assert Notification.objects.count() == 3
    assert Delivery.objects.count() == 3


def test_a_key_is_shared_with_single_creates_of_the_same_body(api: APIClient) -> None:
    created = api.post(
        "/api/v1/notifications/", item_body(0), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    ).json()

    result = post_items(api, [item_body(0, idempotency_key="shared")]).json()["results"][0]

    assert (result["status"], result["notification"]["id"]) == (200, created["id"])
    assert Notification.objects.count() == 1


def test_a_key_repeated_inside_one_batch_is_applied_in_order(api: APIClient) -> None:
    results = post_items(
        api,
        [
            item_body(0, idempotency_key="twice"),
            item_body(0, idempotency_key="twice"),
            {**item_body(0, idempotency_key="twice"), "priority": "low"},
        ],
    ).json()["results"]

    assert [r["status"] for r in results] == [202, 200, 422]
    assert results[1]["notification"]["id"] == results[0]["notification"]["id"]
    assert Notification.objects.count() == 1


def test_a_key_another_request_is_processing_is_409_for_that_item_only(
    api: APIClient, api_key: tuple[ApiKey, str]
) -> None:
    # Another session holds the key's lock, as a concurrent request would.
    from django.db import connections

    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                [api_key[0].tenant, "busy"],
            )
        results = post_items(
            api, [item_body(0, idempotency_key="busy"), item_body(1, idempotency_key="free")]
        ).json()["results"]
    finally:
        other.rollback()
        other.close()

    assert [r["status"] for r in results] == [409, 202]
    assert results[0]["error"]["error"] == "conflict"
    assert Notification.objects.count() == 1


def test_tenants_are_walls_for_recipients_and_keys(api: APIClient) -> None:
    _, raw = api_key_create(name="other", tenant="other")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    post_items(api, [item_body(0, idempotency_key="k")])

    result = post_items(other, [{**item_body(0, idempotency_key="k"), "priority": "high"}]).json()

    assert result["results"][0]["status"] == 202
    assert Recipient.objects.filter(external_id="user-0").count() == 2
    assert sorted(Notification.objects.values_list("tenant", flat=True)) == ["default", "other"]
