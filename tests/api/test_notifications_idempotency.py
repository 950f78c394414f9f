"""POST /api/v1/notifications/ with an Idempotency-Key: the same body replays the first answer,
another body is a 422, and a key belongs to the tenant, whichever of its API keys sends it."""

from __future__ import annotations

from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery, Notification
from notify.services.access.apikeys import api_key_create, api_key_revoke
from tests.api.notification_calls import EMAIL, GOOD, OK_RECIPIENT, URL, accept, keyed, post, stored


def test_the_same_idempotency_key_and_body_replays_the_first_answer(api: APIClient) -> None:
    first = post(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-1-shipped")
    second = post(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-1-shipped")

    assert first.status_code == second.status_code == 202
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["deliveries"] == first.json()["deliveries"]
    assert stored() == (1, 1, 1)


def test_the_same_idempotency_key_with_another_body_is_422(api: APIClient) -> None:
    accept(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-2-shipped")
    other = {"recipient": OK_RECIPIENT, "content": {"email": {**EMAIL, "text": "different"}}}

    response = post(api, other, HTTP_IDEMPOTENCY_KEY="order-2-shipped")

    assert response.status_code == 422
    assert response.json()["error"] == "unprocessable"
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_an_idempotency_key_is_scoped_to_the_tenant(api: APIClient) -> None:
    _, raw = api_key_create(name="other", tenant="other")

    mine = accept(api, GOOD, HTTP_IDEMPOTENCY_KEY="shared-key")
    theirs = post(keyed(raw), GOOD, HTTP_IDEMPOTENCY_KEY="shared-key")

    assert theirs.status_code == 202
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine["id"]
    assert sorted(Notification.objects.values_list("tenant", flat=True)) == ["default", "other"]
    assert [n["id"] for n in keyed(raw).get(URL).json()["results"]] == [theirs.json()["id"]]


def test_an_idempotency_key_is_shared_by_every_key_of_one_tenant(
    api: APIClient, api_key: tuple[ApiKey, str]
) -> None:
    _, raw = api_key_create(name="rotated", tenant=api_key[0].tenant)
    first = accept(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-3-shipped")
    # The key the first request went through is rotated out before the caller retries.
    api_key_revoke(key=api_key[0])

    retry = post(keyed(raw), GOOD, HTTP_IDEMPOTENCY_KEY="order-3-shipped")
    other = {"recipient": OK_RECIPIENT, "content": {"email": {**EMAIL, "text": "different"}}}
    clash = post(keyed(raw), other, HTTP_IDEMPOTENCY_KEY="order-3-shipped")

    assert retry.status_code == 202
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first["id"]
    assert clash.status_code == 422
    assert stored() == (1, 1, 1)
