"""POST/GET /api/v1/notifications/, accepting, as a caller sees it: status codes, JSON bodies
and the rows that were stored. Bad input, access, idempotency, listing and cancelling are in
the test_notifications_*.py beside it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import Delivery, Notification, Recipient
from tests.api.notification_calls import EMAIL, PUSH, SMS, URL, accept, post, template

NOTIFICATION_KEYS = {
    "id",
    "status",
    "created_at",
    "recipient",
    "category",
    "priority",
    "template",
    "template_version",
    "send_at",
    "strategy",
    "digest",
    "deliveries",
}


DELIVERY_KEYS = {
    "id",
    "channel",
    "to",
    "status",
    "attempts",
    "provider",
    "provider_message_id",
    "error_code",
    "last_error",
    "created_at",
    "updated_at",
    "sent_at",
    "delivered_at",
}


def test_it_answers_202_with_exactly_the_contract_shape(api: APIClient) -> None:
    response = post(
        api,
        {"recipient": {"id": "u-shape", "email": "ada@example.com"}, "content": {"email": EMAIL}},
    )

    assert response.status_code == 202
    body = response.json()
    assert set(body) == NOTIFICATION_KEYS
    assert uuid.UUID(body["id"])
    assert body["status"] == "pending"
    assert datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert body["recipient"] == "u-shape"
    assert body["digest"] is None
    assert len(body["deliveries"]) == 1
    delivery = body["deliveries"][0]
    assert set(delivery) == DELIVERY_KEYS
    assert uuid.UUID(delivery["id"])
    assert delivery["channel"] == "email"
    assert delivery["to"] == "ada@example.com"
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 0
    assert delivery["provider"] == ""
    assert delivery["provider_message_id"] == ""
    assert delivery["last_error"] == ""
    assert datetime.fromisoformat(delivery["updated_at"].replace("Z", "+00:00"))
    # What was accepted is what GET shows, and it is in the database.
    assert api.get(f"{URL}{body['id']}/").json() == body
    assert Delivery.objects.get(id=delivery["id"]).notification_id == uuid.UUID(body["id"])


def test_it_uses_by_default_only_the_channels_the_recipient_can_be_reached_on(
    api: APIClient,
) -> None:
    body = accept(
        api,
        {
            "recipient": {"id": "u-email-only", "email": "ada@example.com"},
            "content": {"email": EMAIL, "sms": SMS, "push": PUSH},
        },
    )

    assert [(d["channel"], d["to"], d["status"]) for d in body["deliveries"]] == [
        ("email", "ada@example.com", "pending")
    ]
    assert Delivery.objects.count() == 1


def test_it_fans_out_one_push_delivery_per_device(api: APIClient) -> None:
    body = accept(
        api,
        {
            "recipient": {"id": "u-devices", "push_tokens": ["tok-a", "tok-b"]},
            "content": {"push": PUSH},
        },
    )

    assert sorted((d["channel"], d["to"]) for d in body["deliveries"]) == [
        ("push", "tok-a"),
        ("push", "tok-b"),
    ]


def test_it_records_an_explicit_channel_without_a_contact_point_as_skipped(api: APIClient) -> None:
    body = accept(
        api,
        {
            "recipient": {"id": "u-no-phone", "email": "ada@example.com"},
            "channels": ["sms"],
            "content": {"sms": SMS},
        },
    )

    assert body["status"] == "skipped"
    [delivery] = body["deliveries"]
    assert delivery["channel"] == "sms"
    assert delivery["status"] == "skipped"
    assert delivery["to"] == ""
    assert "phone" in delivery["last_error"]
    assert Delivery.objects.get(id=delivery["id"]).status == "skipped"


def test_it_merges_contact_points_given_on_later_requests(api: APIClient) -> None:
    accept(
        api,
        {"recipient": {"id": "u-merge", "email": "ada@example.com"}, "content": {"email": EMAIL}},
    )
    second = accept(
        api,
        {
            "recipient": {"id": "u-merge", "phone": "+14155552671"},
            "content": {"email": EMAIL, "sms": SMS},
        },
    )

    # The second request reaches both: the email came from the first one.
    assert sorted((d["channel"], d["to"]) for d in second["deliveries"]) == [
        ("email", "ada@example.com"),
        ("sms", "+14155552671"),
    ]
    assert Recipient.objects.count() == 1
    shown = api.get("/api/v1/recipients/u-merge/")
    assert shown.status_code == 200
    assert shown.json()["email"] == "ada@example.com"
    assert shown.json()["phone"] == "+14155552671"


def test_it_renders_a_template_with_data_and_autoescapes_only_html(api: APIClient) -> None:
    template(
        api,
        "welcome",
        {
            "email": {
                "subject": "Hi {{ name }}",
                "text": "Hello {{ name }}",
                "html": "<p>Hello {{ name }}</p>",
            }
        },
    )

    body = accept(
        api,
        {
            "recipient": {"id": "u-tpl", "email": "ada@example.com"},
            "template": "welcome",
            "data": {"name": "<script>"},
        },
    )

    assert body["template"] == "welcome"
    assert body["template_version"] == 1
    content = Notification.objects.get(id=body["id"]).content
    assert content["email"]["subject"] == "Hi <script>"
    assert content["email"]["text"] == "Hello <script>"
    assert content["email"]["html"] == "<p>Hello &lt;script&gt;</p>"


def test_it_picks_the_template_of_the_recipients_language(api: APIClient) -> None:
    template(api, "greet", {"email": {"subject": "Hello", "text": "Hello"}})
    template(api, "greet", {"email": {"subject": "Bonjour", "text": "Bonjour"}}, locale="fr")

    canadian = accept(
        api,
        {
            "recipient": {"id": "u-fr-ca", "email": "a@example.com", "locale": "fr-CA"},
            "template": "greet",
        },
    )
    english = accept(
        api,
        {
            "recipient": {"id": "u-en", "email": "b@example.com", "locale": "en-GB"},
            "template": "greet",
        },
    )
    # Without a locale in the request, the one stored for the recipient applies.
    again = accept(api, {"recipient": {"id": "u-fr-ca"}, "template": "greet"})

    def subject(body: dict[str, Any]) -> str:
        return str(Notification.objects.get(id=body["id"]).content["email"]["subject"])

    assert subject(canadian) == "Bonjour"
    assert subject(english) == "Hello"
    assert subject(again) == "Bonjour"


def test_it_echoes_priority_category_and_send_at(api: APIClient) -> None:
    send_at = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)

    body = accept(
        api,
        {
            "recipient": {"id": "u-echo", "email": "ada@example.com"},
            "content": {"email": EMAIL},
            "priority": "high",
            "category": "security",
            "send_at": send_at.isoformat(),
        },
    )

    assert body["priority"] == "high"
    assert body["category"] == "security"
    assert datetime.fromisoformat(body["send_at"].replace("Z", "+00:00")) == send_at
    delivery = Delivery.objects.get(id=body["deliveries"][0]["id"])
    assert delivery.next_attempt_at == send_at
    assert delivery.priority == 1


def test_the_202_body_is_what_a_later_get_shows(api: APIClient) -> None:
    """The accept answer is built without re-reading the rows; it must not differ from the
    representation of the stored notification."""
    response = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "same-body", "email": "s@example.com", "phone": "+14155552671"},
            "content": {"email": {"subject": "Hi", "text": "t"}, "sms": {"text": "t"}},
            "send_at": "2099-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 202
    accepted = response.json()
    shown = api.get(f"/api/v1/notifications/{accepted['id']}/").json()
    assert accepted == shown
    assert [d["channel"] for d in accepted["deliveries"]] == ["email", "sms"]
