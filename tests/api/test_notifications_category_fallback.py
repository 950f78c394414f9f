"""A category's `fallback_order` is the order a "fallback" notification of that category tries
its channels in when the request names no `channels`: at accept, for a single create, a batch
item and a broadcast alike, and again when a provider's report moves it to the next channel."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.audiences.broadcasts import broadcast_expand
from tests.api.batch_calls import post_items
from tests.harness import Sandbox
from tests.webhooks.fallback_calls import CONTENT, PHONE, deliveries, send
from tests.webhooks.twilio_calls import callback, status_params


def _category(api: APIClient, key: str, order: list[str]) -> None:
    response = api.post("/api/v1/categories/", {"key": key, "fallback_order": order}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["fallback_order"] == order


def _body(person: str, **extra: Any) -> dict[str, Any]:
    return {
        "recipient": {
            "id": person,
            "email": f"{person}@example.com",
            "phone": PHONE,
            "push_tokens": [f"{person}-token"],
        },
        "strategy": "fallback",
        "content": CONTENT,
        **extra,
    }


def _accepted(api: APIClient, body: dict[str, Any]) -> list[tuple[str, str, str]]:
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 202, response.content
    return deliveries(api, str(response.json()["id"]))


def test_without_channels_the_categorys_order_picks_the_first_channel(api: APIClient) -> None:
    _category(api, "security", ["push", "sms", "email"])

    assert _accepted(api, _body("cat-1", category="security")) == [("push", "pending", "")]
    # Another category, or none, keeps the default order: email first.
    assert _accepted(api, _body("cat-2")) == [("email", "pending", "")]


def test_explicit_channels_win_over_the_categorys_order(api: APIClient) -> None:
    _category(api, "security", ["push", "sms", "email"])

    body = _body("cat-3", category="security", channels=["sms", "push"])

    assert _accepted(api, body) == [("sms", "pending", "")]


def test_the_categorys_order_skips_what_cannot_reach_and_keeps_channels_it_does_not_list(
    api: APIClient,
) -> None:
    """Push has no content here and is not planned at all; sms cannot reach (no phone) and is
    recorded as passed over; email, which the category does not list, comes after them."""
    _category(api, "billing", ["push", "sms"])
    body = {
        "recipient": {"id": "cat-4", "email": "cat-4@example.com"},
        "strategy": "fallback",
        "category": "billing",
        "content": {"email": CONTENT["email"], "sms": CONTENT["sms"]},
    }

    assert _accepted(api, body) == [("email", "pending", ""), ("sms", "skipped", "no_contact")]


def test_a_batch_item_and_a_broadcast_follow_the_categorys_order_like_a_single_create(
    api: APIClient,
) -> None:
    _category(api, "security", ["sms", "push", "email"])
    single = _accepted(api, _body("cat-5", category="security"))

    results = post_items(api, [_body("cat-6", category="security")]).json()["results"]
    item = deliveries(api, results[0]["notification"]["id"])
    response = api.post(
        "/api/v1/broadcasts/",
        {
            "recipients": [_body("cat-7")["recipient"]],
            "strategy": "fallback",
            "category": "security",
            "content": CONTENT,
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    broadcast_expand(broadcast_id=response.json()["id"])  # as the worker's task does
    broadcast = list(Delivery.objects.filter(notification__recipient__external_id="cat-7"))

    assert single == item == [("sms", "pending", "")]
    assert [(d.channel, d.status, d.error_code) for d in broadcast] == [("sms", "pending", "")]


def test_after_an_undelivered_report_the_next_channel_is_the_categorys_next(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    """sms → push → email: the recipient has no device, so push is passed over for email."""
    _category(api, "security", ["sms", "push", "email"])
    body = _body("cat-8", category="security")
    body["recipient"].pop("push_tokens")
    response = api.post("/api/v1/notifications/", body, format="json")
    notification_id = str(response.json()["id"])
    send("sms")
    sms = Delivery.objects.get(notification_id=notification_id)

    reported = callback(
        client, sms, status_params(sms.provider_message_id, "undelivered", ErrorCode="30003")
    )

    assert reported.status_code == 204
    assert deliveries(api, notification_id) == [
        ("email", "pending", ""),
        ("push", "skipped", "no_contact"),
        ("sms", "failed", "30003"),
    ]
    send("email")
    assert len(sandbox.accepted(provider="smtp", to="cat-8@example.com")) == 1
