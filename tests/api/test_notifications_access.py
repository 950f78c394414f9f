"""/api/v1/notifications/ authentication and authorisation: 401 without a valid key, 403
without the send scope, 404 for an unknown id or another tenant's notification."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery
from notify.services.access.apikeys import api_key_create, api_key_revoke
from tests.api.notification_calls import GOOD, URL, accept, keyed, post, stored


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] in {"not_authenticated", "authentication_failed"}
    assert stored() == (0, 0, 0)


def test_it_answers_401_without_a_key(db: Any) -> None:
    _assert_401(post(APIClient(), GOOD))


@pytest.mark.parametrize(
    "header", ["Token abc", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-notify-key"]
)
def test_it_answers_401_for_a_malformed_authorization_header(db: Any, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    _assert_401(post(client, GOOD))


def test_it_answers_401_for_a_wrong_secret(api_key: tuple[ApiKey, str]) -> None:
    key, _ = api_key

    _assert_401(post(keyed(f"ntf_{key.prefix}_wrong-secret"), GOOD))


def test_it_answers_401_for_a_revoked_key(api: APIClient, api_key: tuple[ApiKey, str]) -> None:
    api_key_revoke(key=api_key[0])

    _assert_401(post(api, GOOD))


def test_it_answers_401_for_an_expired_key(db: Any) -> None:
    _, raw = api_key_create(name="expired", expires_at=timezone.now() - timedelta(seconds=1))

    _assert_401(post(keyed(raw), GOOD))


def test_it_answers_403_to_a_key_without_the_send_scope(db: Any) -> None:
    _, raw = api_key_create(name="reader", scopes=["read"])
    client = keyed(raw)

    response = post(client, GOOD)

    assert response.status_code == 403
    assert stored() == (0, 0, 0)
    # Reading is what it may do.
    assert client.get(URL).status_code == 200


def test_it_answers_404_for_an_unknown_or_malformed_id(api: APIClient) -> None:
    assert api.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert api.get(f"{URL}not-a-uuid/").status_code == 404
    assert api.get(f"{URL}{'-' * 36}/").status_code == 404
    assert api.post(f"{URL}{uuid.uuid4()}/cancel/").status_code == 404


def test_it_hides_another_tenants_notification(api: APIClient) -> None:
    _, raw = api_key_create(name="other", tenant="other")
    theirs = accept(keyed(raw), GOOD)

    assert api.get(f"{URL}{theirs['id']}/").status_code == 404
    assert api.post(f"{URL}{theirs['id']}/cancel/").status_code == 404
    assert Delivery.objects.get(id=theirs["deliveries"][0]["id"]).status == "pending"
    assert api.get(URL).json()["results"] == []
