"""PUT/GET /api/v1/recipients/{id}/ and the recipient's push devices."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.test import APIClient

from notify.models import Device, Recipient
from notify.services.access.apikeys import api_key_create


def _url(recipient_id: str) -> str:
    return f"/api/v1/recipients/{recipient_id}/"


def _other_tenant() -> APIClient:
    _, raw = api_key_create(name="other", tenant="other")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_put_creates_a_recipient_then_merges_into_it(api: APIClient) -> None:
    created = api.put(_url("u-1"), {"email": "ada@example.com", "locale": "fr-CA"}, format="json")

    assert created.status_code == 200, created.content
    assert created.json()["id"] == "u-1"
    assert created.json()["email"] == "ada@example.com"
    assert created.json()["phone"] == ""

    merged = api.put(
        _url("u-1"),
        {"phone": "+14155552671", "push_tokens": [{"token": "tok-1", "platform": "ios"}]},
        format="json",
    )

    assert merged.status_code == 200, merged.content
    body = merged.json()
    assert (body["email"], body["phone"], body["locale"]) == (
        "ada@example.com",
        "+14155552671",
        "fr-CA",
    )
    assert [(d["token"], d["platform"], d["active"]) for d in body["devices"]] == [
        ("tok-1", "ios", True)
    ]
    assert Recipient.objects.count() == 1
    assert api.get(_url("u-1")).json() == body


def test_put_rejects_an_invalid_phone_and_stores_nothing(api: APIClient) -> None:
    response = api.put(_url("u-bad"), {"email": "ada@example.com", "phone": "+1234"}, format="json")

    assert response.status_code == 400
    assert "phone" in response.json()["fields"]
    assert Recipient.objects.count() == 0


def test_put_rejects_an_invalid_phone_without_changing_a_known_recipient(api: APIClient) -> None:
    api.put(_url("u-known"), {"phone": "+14155552671"}, format="json")

    response = api.put(_url("u-known"), {"phone": "4155552671"}, format="json")

    assert response.status_code == 400
    assert Recipient.objects.get().phone == "+14155552671"


def test_get_an_unknown_recipient_is_404(api: APIClient) -> None:
    assert api.get(_url("nobody")).status_code == 404


def test_devices_can_be_added_listed_and_removed(api: APIClient) -> None:
    api.put(_url("u-dev"), {"email": "ada@example.com"}, format="json")

    added = api.post(
        f"{_url('u-dev')}devices/", {"token": "tok-a", "platform": "android"}, format="json"
    )

    assert added.status_code == 201, added.content
    device = added.json()
    assert (device["token"], device["platform"], device["active"]) == ("tok-a", "android", True)
    assert uuid.UUID(device["id"])

    listed = api.get(f"{_url('u-dev')}devices/")
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()] == [device["id"]]

    removed = api.delete(f"{_url('u-dev')}devices/{device['id']}/")
    assert removed.status_code == 204
    assert api.get(f"{_url('u-dev')}devices/").json() == []
    assert Device.objects.count() == 0
    assert api.delete(f"{_url('u-dev')}devices/{device['id']}/").status_code == 404


def test_registering_a_device_for_an_unknown_recipient_is_404(api: APIClient) -> None:
    response = api.post(f"{_url('nobody')}devices/", {"token": "tok"}, format="json")

    assert response.status_code == 404
    assert Device.objects.count() == 0
    assert Recipient.objects.count() == 0


def test_another_tenants_recipient_and_devices_are_404(api: APIClient) -> None:
    api.put(_url("u-mine"), {"email": "ada@example.com"}, format="json")
    device = api.post(f"{_url('u-mine')}devices/", {"token": "tok-mine"}, format="json").json()
    other: Any = _other_tenant()

    assert other.get(_url("u-mine")).status_code == 404
    assert other.get(f"{_url('u-mine')}devices/").status_code == 404
    assert (
        other.post(f"{_url('u-mine')}devices/", {"token": "theirs"}, format="json").status_code
        == 404
    )
    assert other.delete(f"{_url('u-mine')}devices/{device['id']}/").status_code == 404
    assert list(Device.objects.values_list("token", flat=True)) == ["tok-mine"]
    # The same external id in the other tenant is a different person.
    theirs = other.put(_url("u-mine"), {"email": "someone-else@example.com"}, format="json")
    assert theirs.status_code == 200
    assert api.get(_url("u-mine")).json()["email"] == "ada@example.com"
    assert Recipient.objects.count() == 2
