"""The Idempotency-Key header beyond the single create (found by the second hostile-input
probe, 3 Dec 2026): broadcasts honour it as single creates do, batches refuse it (their items
carry their own keys) instead of ignoring it, and two headers, which reach the application
joined by a comma, are refused rather than used as one key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import Broadcast, Notification
from notify.services.access.apikeys import api_key_create
from notify.services.operations.maintenance import idempotency_keys_purge
from tests.api.conftest import client_for

EMAIL = {"email": {"subject": "Hello", "text": "Hi there."}}
NOTIFICATION = {"recipient": {"id": "u1", "email": "u1@example.com"}, "content": EMAIL}
BROADCAST = {"recipients": [{"id": "u1", "email": "u1@example.com"}], "content": EMAIL}


@pytest.fixture
def client(api_key: Any) -> APIClient:
    return client_for(api_key[1], lenient=True)


def _post(client: APIClient, path: str, body: dict[str, Any], key: str | None = None) -> Any:
    if key is None:
        return client.post(path, body, format="json")
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _header_error(response: Any) -> str:
    assert response.status_code == 400, (response.status_code, response.content)
    body = response.json()
    assert body["error"] == "validation_error"
    [message] = body["fields"]["Idempotency-Key"]
    return str(message)


# --- Two headers, or a comma ----------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("key", ["a, b", "a,b", "order-1,order-1"])
@pytest.mark.parametrize(
    ("path", "body"), [("/api/v1/notifications/", NOTIFICATION), ("/api/v1/broadcasts/", BROADCAST)]
)
def test_joined_idempotency_keys_are_refused(
    client: APIClient, path: str, body: dict[str, Any], key: str
) -> None:
    assert "comma" in _header_error(_post(client, path, body, key))
    assert not Notification.objects.exists() and not Broadcast.objects.exists()


@pytest.mark.django_db
def test_a_batch_items_key_with_a_comma_is_refused_like_the_header(client: APIClient) -> None:
    item = {**NOTIFICATION, "idempotency_key": "a,b"}

    response = _post(client, "/api/v1/notifications/batch/", {"notifications": [item]})

    [result] = response.json()["results"]
    assert result["status"] == 400
    assert list(result["error"]["fields"]) == ["idempotency_key"]
    assert not Notification.objects.exists()


# --- Batches: per-item keys only ------------------------------------------------------------
@pytest.mark.django_db
def test_a_batch_with_an_idempotency_key_header_is_refused_whole(client: APIClient) -> None:
    response = _post(
        client, "/api/v1/notifications/batch/", {"notifications": [NOTIFICATION]}, "batch-1"
    )

    assert "idempotency_key" in _header_error(response)
    assert not Notification.objects.exists()


# --- Broadcasts honour the header -----------------------------------------------------------
@pytest.mark.django_db
def test_a_broadcast_retried_with_its_key_is_created_once(client: APIClient) -> None:
    first = _post(client, "/api/v1/broadcasts/", BROADCAST, "launch-1")
    again = _post(client, "/api/v1/broadcasts/", BROADCAST, "launch-1")

    assert first.status_code == again.status_code == 202, (first.content, again.content)
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Broadcast.objects.count() == 1


@pytest.mark.django_db
def test_a_broadcast_key_reused_with_another_body_is_422(client: APIClient) -> None:
    assert _post(client, "/api/v1/broadcasts/", BROADCAST, "launch-1").status_code == 202
    other = {**BROADCAST, "content": {"email": {"subject": "Other", "text": "Other."}}}

    response = _post(client, "/api/v1/broadcasts/", other, "launch-1")

    assert response.status_code == 422
    assert response.json()["error"] == "unprocessable"
    assert Broadcast.objects.count() == 1


@pytest.mark.django_db
def test_broadcast_keys_are_apart_from_notification_keys_and_other_tenants(
    client: APIClient,
) -> None:
    assert _post(client, "/api/v1/notifications/", NOTIFICATION, "k").status_code == 202
    assert _post(client, "/api/v1/broadcasts/", BROADCAST, "k").status_code == 202
    _, raw = api_key_create(name="other", tenant="acme")

    theirs = _post(client_for(raw, lenient=True), "/api/v1/broadcasts/", BROADCAST, "k")

    assert theirs.status_code == 202 and "Idempotent-Replayed" not in theirs
    assert Broadcast.objects.count() == 2 and Notification.objects.count() == 1


@pytest.mark.django_db
def test_a_broadcast_key_is_forgotten_after_its_retention(client: APIClient) -> None:
    first = _post(client, "/api/v1/broadcasts/", BROADCAST, "launch-1").json()
    Broadcast.objects.update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_keys_purge() == 1

    second = _post(client, "/api/v1/broadcasts/", BROADCAST, "launch-1")
    assert second.status_code == 202 and second.json()["id"] != first["id"]


def test_a_broadcast_key_in_flight_gets_409(client: APIClient, transactional_db: Any) -> None:
    params = connection.get_connection_params()
    holder = psycopg2.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
    try:
        # Another request with the same key, mid-transaction, holds the key's lock.
        with holder.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('broadcast:default'), hashtext('b-1'))"
            )

        busy = _post(client, "/api/v1/broadcasts/", BROADCAST, "b-1")

        assert busy.status_code == 409
        assert busy["Retry-After"] == "1"
    finally:
        holder.rollback()
        holder.close()
    assert not Broadcast.objects.exists()
    assert _post(client, "/api/v1/broadcasts/", BROADCAST, "b-1").status_code == 202


# --- The schema says so ---------------------------------------------------------------------
def test_the_schema_documents_the_header_on_broadcasts_and_its_refusal_on_batches(
    db: Any,
) -> None:
    schema = APIClient().get("/api/schema/?format=json").json()

    def header(path: str) -> str:
        [parameter] = [
            p
            for p in schema["paths"][path]["post"].get("parameters", [])
            if p["in"] == "header" and p["name"] == "Idempotency-Key"
        ]
        return str(parameter["description"])

    assert "comma" in header("/api/v1/notifications/")
    assert "409" in header("/api/v1/broadcasts/") and "422" in header("/api/v1/broadcasts/")
    assert "Not accepted" in header("/api/v1/notifications/batch/")
