"""Regression tests for more defects found by probing the API as a hostile client (second
probe session, 3 Dec 2026): input the API accepted and stored, only for it to fail later (at
FCM, at send time) or to mean nothing. Each is now a 400 in the API's JSON error shape, with
the field named and nothing stored. Idempotency-Key headers: test_idempotency_headers.py."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import Broadcast, Category, Device, Notification, Recipient, WebhookEndpoint
from tests.api.conftest import client_for

PUSH = {"title": "Hello", "body": "Hi there."}
# Nothing to see: whitespace, a zero-width space, joiners and a BOM, a Hangul filler, the
# braille blank, a combining accent alone.
BLANK_TOKENS = [" ", "   ", "\t", "\u200b", "\u200b\u200d\ufeff", "\u3164", "\u2800", "\u0301"]


@pytest.fixture
def client(api_key: Any) -> APIClient:
    return client_for(api_key[1], lenient=True)


def _fields(response: Any) -> dict[str, list[str]]:
    """The field errors of a 400 in the API's error shape."""
    assert response.status_code == 400, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert (body["error"], body["detail"]) == ("validation_error", "Invalid input.")
    fields: dict[str, list[str]] = body["fields"]
    return fields


# --- 1. Blank push tokens -------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("token", BLANK_TOKENS)
def test_registering_a_blank_device_token_is_a_field_error(client: APIClient, token: str) -> None:
    assert client.put("/api/v1/recipients/u1/", {}, format="json").status_code == 200

    response = client.post("/api/v1/recipients/u1/devices/", {"token": token}, format="json")

    assert list(_fields(response)) == ["token"]
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_a_recipient_upsert_with_a_blank_token_stores_nothing(client: APIClient) -> None:
    response = client.put(
        "/api/v1/recipients/u1/",
        {"email": "u1@example.com", "push_tokens": [{"token": "ok"}, {"token": "\u200b"}]},
        format="json",
    )

    assert list(_fields(response)) == ["push_tokens.1.token"]
    assert not Recipient.objects.exists() and not Device.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["\u200b", "  "])
def test_a_notification_to_a_blank_token_is_refused(client: APIClient, token: str) -> None:
    response = client.post(
        "/api/v1/notifications/",
        {"recipient": {"id": "u1", "push_tokens": [token]}, "content": {"push": PUSH}},
        format="json",
    )

    assert list(_fields(response)) == ["recipient.push_tokens.0"]
    assert not Notification.objects.exists() and not Device.objects.exists()


@pytest.mark.django_db
def test_a_batch_item_with_a_blank_token_is_refused_and_the_others_accepted(
    client: APIClient,
) -> None:
    good = {"recipient": {"id": "u1", "push_tokens": ["tok-1"]}, "content": {"push": PUSH}}
    blank = {"recipient": {"id": "u2", "push_tokens": ["\u2800"]}, "content": {"push": PUSH}}

    response = client.post(
        "/api/v1/notifications/batch/", {"notifications": [good, blank]}, format="json"
    )

    assert response.status_code == 200, response.content
    first, second = response.json()["results"]
    assert first["status"] == 202
    assert second["status"] == 400
    assert list(second["error"]["fields"]) == ["recipient.push_tokens.0"]
    assert list(Device.objects.values_list("token", flat=True)) == ["tok-1"]


@pytest.mark.django_db
def test_a_broadcast_to_a_blank_token_is_refused(client: APIClient) -> None:
    response = client.post(
        "/api/v1/broadcasts/",
        {"recipients": [{"id": "u1", "push_tokens": ["\ufeff"]}], "content": {"push": PUSH}},
        format="json",
    )

    assert list(_fields(response)) == ["recipients.0.push_tokens.0"]
    assert not Broadcast.objects.exists()


@pytest.mark.django_db
def test_an_imported_row_with_a_blank_token_is_reported(client: APIClient) -> None:
    response = client.post(
        "/api/v1/recipient-imports/",
        {"recipients": [{"id": "u1", "push_tokens": [{"token": "\u200b\u200b"}]}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    [error] = response.json()["errors"]
    assert list(error["errors"]) == ["push_tokens.0.token"]
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_a_real_looking_token_is_still_registered(client: APIClient) -> None:
    client.put("/api/v1/recipients/u1/", {}, format="json")

    response = client.post(
        "/api/v1/recipients/u1/devices/", {"token": "fA1b:APA91-x_Y"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Device.objects.get().token == "fA1b:APA91-x_Y"


# --- 2. Push data keys FCM reserves ---------------------------------------------------------
RESERVED_KEYS = [
    "from",
    "message_type",
    "From",
    "google.c.a.e",
    "google",
    "googleAnalytics",
    "gcm.notification.title",
    "GCM_x",
    "notify_delivery_id",
]


@pytest.mark.django_db
@pytest.mark.parametrize("key", RESERVED_KEYS)
def test_a_reserved_push_data_key_is_a_field_error(client: APIClient, key: str) -> None:
    response = client.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u1", "push_tokens": ["tok-1"]},
            "content": {"push": {**PUSH, "data": {"ok": "1", key: "x"}}},
        },
        format="json",
    )

    fields = _fields(response)
    assert list(fields) == [f"content.push.data.{key}"]
    assert "reserved" in fields[f"content.push.data.{key}"][0]
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_reserved_push_data_key_is_refused_in_a_batch_item_and_a_template(
    client: APIClient,
) -> None:
    item = {
        "recipient": {"id": "u1", "push_tokens": ["tok-1"]},
        "content": {"push": {**PUSH, "data": {"message_type": "x"}}},
    }
    response = client.post("/api/v1/notifications/batch/", {"notifications": [item]}, format="json")
    [result] = response.json()["results"]
    assert result["status"] == 400
    assert list(result["error"]["fields"]) == ["content.push.data.message_type"]

    response = client.put(
        "/api/v1/templates/t/",
        {"content": {"push": {"title": "{{ x }}", "data": {"google.x": "{{ x }}"}}}},
        format="json",
    )
    assert list(_fields(response)) == ["content.push.data.google.x"]
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_ordinary_push_data_keys_are_accepted(client: APIClient) -> None:
    data = {"fromage": "brie", "kind": "order", "type": "message", "my_google": "1"}
    response = client.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u1", "push_tokens": ["tok-1"]},
            "content": {"push": {**PUSH, "data": data}},
        },
        format="json",
    )

    assert response.status_code == 202, response.content


# --- 5. A category's channel lists ----------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("field", ["fallback_order", "default_channels"])
def test_a_channel_listed_twice_in_a_category_is_a_field_error(
    client: APIClient, field: str
) -> None:
    response = client.post(
        "/api/v1/categories/",
        {"key": "billing", "name": "Billing", field: ["push", "sms", "push"]},
        format="json",
    )

    assert _fields(response) == {field: ["Channels must be unique."]}
    assert not Category.objects.filter(key="billing").exists()


# --- 6. Webhook URL on port 0 ---------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["https://hooks.example.com:0/notify", "http://93.184.215.14:00/notify"]
)
def test_a_webhook_url_on_port_0_is_a_field_error(client: APIClient, url: str) -> None:
    response = client.post("/api/v1/webhooks/", {"url": url}, format="json")

    assert _fields(response) == {"url": ["The port is not valid."]}
    assert not WebhookEndpoint.objects.exists()


# --- 7. Names a template binds itself -------------------------------------------------------
REGROUP = (
    "{% regroup orders by city as by_city %}"
    "{% for group in by_city %}{{ group.grouper }}: {{ group.list|length }}; {% endfor %}"
    "{{ by_city|length }} cities"
)


def _send(client: APIClient, text: str, data: dict[str, Any]) -> Any:
    assert client.put(
        "/api/v1/templates/t/",
        {"content": {"email": {"subject": "s", "text": text}}},
        format="json",
    ).status_code in (200, 201)
    return client.post(
        "/api/v1/notifications/",
        {"recipient": {"id": "u1", "email": "u1@example.com"}, "template": "t", "data": data},
        format="json",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (REGROUP, "Paris: 2; Lyon: 1; 2 cities"),
        ('{% for o in orders %}{% cycle "a" "b" as row silent %}{{ row }}{% endfor %}', "aba"),
        ('{% firstof nickname "friend" as who %}Hi {{ who }}', "Hi friend"),
        ('{% now "Y" as year %}{{ year|length }}', "4"),
        ("{% widthratio 5 10 100 as pct %}{{ pct }}%", "50%"),
    ],
)
def test_a_name_bound_by_a_tag_is_not_a_missing_variable(
    client: APIClient, text: str, expected: str
) -> None:
    orders = [{"city": "Paris"}, {"city": "Paris"}, {"city": "Lyon"}]

    response = _send(client, text, {"orders": orders})

    assert response.status_code == 202, response.content
    assert Notification.objects.get().content["email"]["text"] == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "missing"),
    [
        # Printed before the tag binds it.
        ("{{ by_city }}{% regroup orders by city as by_city %}", "by_city"),
        # Bound inside a loop, which pushes its own context: gone after the loop.
        ('{% for o in orders %}{% cycle "a" "b" as row silent %}{% endfor %}{{ row }}', "row"),
        # The list regrouped is itself missing.
        ("{% regroup nothing by city as by_city %}{{ by_city }}", "nothing"),
    ],
)
def test_variables_still_missing_around_those_tags_are_reported(
    client: APIClient, text: str, missing: str
) -> None:
    response = _send(client, text, {"orders": [{"city": "Paris"}]})

    fields = _fields(response)
    assert any(missing in message for messages in fields.values() for message in messages)
    assert not Notification.objects.exists()
