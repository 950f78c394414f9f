"""A "fallback" notification moves to its next channel when the provider reports, after the
send, that the message failed for good (a Twilio `undelivered`/`failed` callback, an ESP
bounce): once, whatever the number of copies of the report, and not when another of its
deliveries got through. Sent for real through the sandbox, reported through the webhooks."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.delivering.sending import DeliveryStream
from notify.services.outbox.doorbell import wake_key
from tests.harness import Sandbox
from tests.services.rows import forget_provider_state
from tests.webhooks.twilio_calls import callback, status_params

PHONE = "+14155552671"
ESP_SECRET = "hooks:s3cret"


@pytest.fixture(autouse=True)
def provider_state(redis_db: redis.Redis) -> Iterator[redis.Redis]:
    forget_provider_state(redis_db)
    with override_settings(ANYMAIL={**settings.ANYMAIL, "WEBHOOK_SECRET": ESP_SECRET}):
        yield redis_db
    forget_provider_state(redis_db)


def _accept(api: APIClient, person: str, channels: list[str] | None, **extra: Any) -> str:
    body: dict[str, Any] = {
        "recipient": {"id": person, "email": f"{person}@example.com", "phone": PHONE},
        "strategy": "fallback",
        "content": {
            "email": {"subject": "hi", "text": "hi by email"},
            "sms": {"text": "hi by sms"},
            "push": {"title": "hi by push"},
        },
        **extra,
    }
    if channels is not None:
        body["channels"] = channels
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 202, response.content
    return str(response.json()["id"])


def _deliveries(api: APIClient, notification_id: str) -> list[tuple[str, str, str]]:
    body = api.get(f"/api/v1/notifications/{notification_id}/").json()
    return sorted((d["channel"], d["status"], d["error_code"]) for d in body["deliveries"])


def _send(channel: str) -> None:
    """One round of the channel's standard lane, as a worker runs it. Postgres' now() is
    the test transaction's start, earlier than what was accepted since: made due by hand."""
    Delivery.objects.filter(channel=channel, status="pending").update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    stream = DeliveryStream(channel=channel, lane="standard", limit=10)
    claimed = stream.claim(10)
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])


def _bounce(client: Client, delivery: Delivery) -> Any:
    auth = base64.b64encode(ESP_SECRET.encode()).decode()
    event = {
        "RecordType": "Bounce",
        "Type": "bounced",
        "TypeCode": 1,
        "ID": 42,
        "Email": delivery.to,
        "BouncedAt": "2026-11-21T10:00:00Z",
        "MessageID": "pm-bounce",
        "Description": "Unknown user",
        "Metadata": {"delivery_id": str(delivery.id)},
    }
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(event),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


def test_an_undelivered_sms_falls_back_to_email_once_and_the_email_goes_out(
    api: APIClient,
    client: Client,
    sandbox: Sandbox,
    redis_db: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    notification_id = _accept(api, "fb-sms", ["sms", "email"])
    _send("sms")
    [texted] = sandbox.accepted(provider="twilio", to=PHONE)
    sms = Delivery.objects.get(notification_id=notification_id, channel="sms")
    assert (sms.status, sms.provider_message_id) == ("sent", texted["provider_id"])
    assert _deliveries(api, notification_id) == [("sms", "sent", "")]
    forget_provider_state(redis_db)

    params = status_params(texted["provider_id"], "undelivered", ErrorCode="30003")
    with django_capture_on_commit_callbacks(execute=True):
        first = callback(client, sms, params)
    # Twilio retries a callback it thinks was lost; a later `failed` says the same again.
    with django_capture_on_commit_callbacks(execute=True):
        again = callback(client, sms, params)
        later = callback(client, sms, {**params, "MessageStatus": "failed"})

    assert (first.status_code, again.status_code, later.status_code) == (204, 204, 204)
    assert _deliveries(api, notification_id) == [
        ("email", "pending", ""),
        ("sms", "failed", "30003"),
    ]
    # The email's dispatcher is woken once, after the callback's commit.
    assert redis_db.llen(wake_key("email:standard")) == 1
    _send("email")
    assert _deliveries(api, notification_id) == [
        ("email", "sent", ""),
        ("sms", "failed", "30003"),
    ]
    assert len(sandbox.accepted(provider="smtp", to="fb-sms@example.com")) == 1
    assert len(sandbox.accepted(provider="twilio", to=PHONE)) == 1


def test_a_bounced_email_falls_back_to_the_next_channel_in_the_default_order(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    """Without `channels`, the order is every channel the content has, email first."""
    notification_id = _accept(api, "fb-mail", None)
    assert _deliveries(api, notification_id) == [("email", "pending", "")]
    _send("email")
    email = Delivery.objects.get(notification_id=notification_id, channel="email")

    assert _bounce(client, email).status_code == 200
    assert _bounce(client, email).status_code == 200

    assert _deliveries(api, notification_id) == [
        ("email", "failed", "bounced"),
        ("sms", "pending", ""),
    ]
    _send("sms")
    assert [m["body"]["Body"] for m in sandbox.accepted(provider="twilio", to=PHONE)] == [
        "hi by sms"
    ]


def test_a_failure_reported_once_another_delivery_got_through_moves_nothing(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    """Defensive: one of the notification's deliveries already got through (here arranged
    on the rows), so a bounce of another ends the notification there."""
    notification_id = _accept(api, "fb-done", ["email", "sms"])
    _send("email")
    email = Delivery.objects.get(notification_id=notification_id, channel="email")
    Delivery.objects.create(
        notification_id=notification_id,
        channel="email",
        to=email.to,
        status="delivered",
        next_attempt_at=email.next_attempt_at,
    )

    _bounce(client, email)

    assert _deliveries(api, notification_id) == [
        ("email", "delivered", ""),
        ("email", "failed", "bounced"),
    ]


def test_a_report_about_a_delivery_already_final_moves_nothing(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    notification_id = _accept(api, "fb-final", ["sms", "email"])
    _send("sms")
    sms = Delivery.objects.get(notification_id=notification_id, channel="sms")
    callback(client, sms, status_params(sms.provider_message_id, "delivered"))

    callback(client, sms, status_params(sms.provider_message_id, "undelivered", ErrorCode="30003"))

    assert _deliveries(api, notification_id) == [("sms", "delivered", "")]
    assert sandbox.accepted(provider="smtp", to="fb-final@example.com") == []


def test_a_failure_report_on_an_all_channels_notification_adds_nothing(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    response = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "all-ch", "email": "all-ch@example.com", "phone": PHONE},
            "channels": ["sms"],
            "content": {"sms": {"text": "hi"}, "email": {"subject": "s", "text": "t"}},
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    notification_id = str(response.json()["id"])
    _send("sms")
    sms = Delivery.objects.get(notification_id=notification_id)

    callback(client, sms, status_params(sms.provider_message_id, "failed", ErrorCode="30005"))

    assert _deliveries(api, notification_id) == [("sms", "failed", "30005")]


def _push_to_two_devices(api: APIClient, person: str) -> str:
    return _accept(
        api,
        person,
        ["push", "sms"],
        recipient={"id": person, "phone": PHONE, "push_tokens": [f"{person}-a", f"{person}-b"]},
    )


def test_a_dead_device_does_not_bring_sms_in_when_another_device_got_the_push(
    api: APIClient, sandbox: Sandbox
) -> None:
    """The same rule at send time: push goes to every device, one is enough."""
    notification_id = _push_to_two_devices(api, "fb-two")
    sandbox.fault("fcm", "fcm_unregistered", times=1, match_to="fb-two-a")

    _send("push")

    assert _deliveries(api, notification_id) == [
        ("push", "failed", "UNREGISTERED"),
        ("push", "sent", ""),
    ]
    assert sandbox.messages(provider="twilio") == []


def test_the_next_channel_waits_until_no_device_of_the_current_one_can_get_through(
    api: APIClient, sandbox: Sandbox
) -> None:
    notification_id = _push_to_two_devices(api, "fb-wait")
    sandbox.fault("fcm", "fcm_unregistered", times=1, match_to="fb-wait-a")
    sandbox.fault("fcm", "http_503", times=1, match_to="fb-wait-b")  # a retry first
    sandbox.fault("fcm", "fcm_unregistered", times=1, match_to="fb-wait-b")

    _send("push")
    assert _deliveries(api, notification_id) == [
        ("push", "failed", "UNREGISTERED"),
        ("push", "pending", "UNAVAILABLE"),
    ]
    _send("push")

    assert _deliveries(api, notification_id) == [
        ("push", "failed", "UNREGISTERED"),
        ("push", "failed", "UNREGISTERED"),
        ("sms", "pending", ""),
    ]
