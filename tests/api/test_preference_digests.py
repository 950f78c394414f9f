"""A recipient's per-category digest through the preferences API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notify.models import ApiKey, DigestChoice
from notify.services.recipients.recipients import recipient_upsert

pytestmark = pytest.mark.django_db

URL = "/api/v1/recipients/ada/preferences/"


@pytest.fixture
def ada(api: APIClient, api_key: tuple[ApiKey, str]) -> None:
    api.post("/api/v1/categories/", {"key": "marketing"}, format="json")
    recipient_upsert(tenant=api_key[0].tenant, external_id="ada", email="ada@example.com")


def test_a_digest_is_chosen_shown_and_cleared(api: APIClient, ada: None) -> None:
    chosen = api.put(URL, {"categories": {"marketing": {"digest": "daily@18:00"}}}, format="json")
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["categories"]["marketing"] == {
        "email": True,
        "sms": True,
        "push": True,
        "digest": "daily@18:00",
    }
    cleared = api.put(URL, {"categories": {"marketing": {"digest": None}}}, format="json")
    assert "digest" not in cleared.json()["categories"]["marketing"]
    assert not DigestChoice.objects.exists()


@pytest.mark.parametrize("rule", ["daily@25:00", "sometimes", 7])
def test_a_bad_digest_is_a_400_and_nothing_changes(api: APIClient, ada: None, rule: object) -> None:
    response = api.put(
        URL, {"categories": {"marketing": {"email": False, "digest": rule}}}, format="json"
    )
    assert response.status_code == 400
    assert "categories" in response.json()["fields"]
    assert api.get(URL).json()["categories"]["marketing"]["email"] is True
    assert not DigestChoice.objects.exists()
