"""Abuse limits a caller can run into: per-key request rate, request body size."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from notify.logs import mask
from notify.models import Notification, Recipient

BODY = {
    "recipient": {"id": "r", "email": "r@example.com"},
    "content": {"email": {"subject": "s", "text": "t"}},
}


@override_settings(NOTIFY_API_RATE="3/m")
def test_a_key_over_its_rate_gets_429_with_retry_after(api: APIClient) -> None:
    statuses = [api.get("/api/v1/notifications/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = api.get("/api/v1/notifications/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"] == "throttled"


@override_settings(NOTIFY_API_RATE="2/m")
def test_each_key_has_its_own_budget(api: APIClient) -> None:
    from notify.services.access.apikeys import api_key_create

    for _ in range(3):
        api.get("/api/v1/notifications/")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='other')[1]}")

    assert other.get("/api/v1/notifications/").status_code == 200


@override_settings(MAX_REQUEST_BYTES=2048)
def test_an_oversized_body_gets_413_and_nothing_is_stored(api: APIClient) -> None:
    body = {**BODY, "content": {"email": {"subject": "s", "text": "x" * 5000}}}

    response = api.post("/api/v1/notifications/", body, format="json")

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert Notification.objects.count() == 0
    assert Recipient.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("sending to ada.lovelace@example.com now", "ada.lovelace@"),
        ("SMS to +14155552671 failed", "4155552671"),
        (
            "token dGhpcy1pcy1hLXZlcnktbG9uZy1mY20tcmVnaXN0cmF0aW9uLXRva2VuLWZvci10ZXN0cw done",
            "aXMtYS12ZXJ5LWxvbmctZmNtLXJlZ2lzdHJhdGlvbi",
        ),
    ],
)
def test_contact_points_are_masked_in_logs(
    text: str, hidden: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert hidden not in mask(text)
    from notify.logs import MaskPII

    record = logging.LogRecord("notify", logging.INFO, __file__, 1, "%s", (text,), None)
    MaskPII().filter(record)
    assert hidden not in record.getMessage()


def test_ids_and_ordinary_words_are_left_alone() -> None:
    line = "delivery 01a1fd8c-1e6f-7ed2-9256-d908502e105f attempt 3 transient (21211)"
    assert mask(line) == line
