"""A "fallback" notification moves to its next channel when the provider reports, after the
send, that the message failed for good (a Twilio `undelivered`/`failed` callback, an ESP
bounce): once, whatever the number of copies of the report, and not when another of its
deliveries got through. Sent for real through the sandbox, reported through the webhooks."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.test import Client
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.outbox.doorbell import wake_key
from tests.harness import Sandbox
from tests.services.rows import forget_provider_state
from tests.webhooks.fallback_calls import PHONE, accept, bounce, deliveries, send
from tests.webhooks.twilio_calls import callback, status_params

pytestmark = pytest.mark.usefixtures("fallback_provider_state")


def test_an_undelivered_sms_falls_back_to_email_once_and_the_email_goes_out(
    api: APIClient,
    client: Client,
    sandbox: Sandbox,
    redis_db: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    notification_id = accept(api, "fb-sms", ["sms", "email"])
    send("sms")
    [texted] = sandbox.accepted(provider="twilio", to=PHONE)
    sms = Delivery.objects.get(notification_id=notification_id, channel="sms")
    assert (sms.status, sms.provider_message_id) == ("sent", texted["provider_id"])
    assert deliveries(api, notification_id) == [("sms", "sent", "")]
    forget_provider_state(redis_db)

    params = status_params(texted["provider_id"], "undelivered", ErrorCode="30003")
    with django_capture_on_commit_callbacks(execute=True):
        first = callback(client, sms, params)
    # Twilio retries a callback it thinks was lost; a later `failed` says the same again.
    with django_capture_on_commit_callbacks(execute=True):
        again = callback(client, sms, params)
        later = callback(client, sms, {**params, "MessageStatus": "failed"})

    assert (first.status_code, again.status_code, later.status_code) == (204, 204, 204)
    assert deliveries(api, notification_id) == [
        ("email", "pending", ""),
        ("sms", "failed", "30003"),
    ]
    # The email's dispatcher is woken once, after the callback's commit.
    assert redis_db.llen(wake_key("email:standard")) == 1
    send("email")
    assert deliveries(api, notification_id) == [
        ("email", "sent", ""),
        ("sms", "failed", "30003"),
    ]
    assert len(sandbox.accepted(provider="smtp", to="fb-sms@example.com")) == 1
    assert len(sandbox.accepted(provider="twilio", to=PHONE)) == 1


def test_a_bounced_email_falls_back_to_the_next_channel_in_the_default_order(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    """Without `channels`, the order is every channel the content has, email first."""
    notification_id = accept(api, "fb-mail", None)
    assert deliveries(api, notification_id) == [("email", "pending", "")]
    send("email")
    email = Delivery.objects.get(notification_id=notification_id, channel="email")

    assert bounce(client, email).status_code == 200
    assert bounce(client, email).status_code == 200

    assert deliveries(api, notification_id) == [
        ("email", "failed", "bounced"),
        ("sms", "pending", ""),
    ]
    send("sms")
    assert [m["body"]["Body"] for m in sandbox.accepted(provider="twilio", to=PHONE)] == [
        "hi by sms"
    ]


def test_a_failure_reported_once_another_delivery_got_through_moves_nothing(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    """Defensive: one of the notification's deliveries already got through (here arranged
    on the rows), so a bounce of another ends the notification there."""
    notification_id = accept(api, "fb-done", ["email", "sms"])
    send("email")
    email = Delivery.objects.get(notification_id=notification_id, channel="email")
    Delivery.objects.create(
        notification_id=notification_id,
        channel="email",
        to=email.to,
        status="delivered",
        next_attempt_at=email.next_attempt_at,
    )

    bounce(client, email)

    assert deliveries(api, notification_id) == [
        ("email", "delivered", ""),
        ("email", "failed", "bounced"),
    ]


def test_a_report_about_a_delivery_already_final_moves_nothing(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    notification_id = accept(api, "fb-final", ["sms", "email"])
    send("sms")
    sms = Delivery.objects.get(notification_id=notification_id, channel="sms")
    callback(client, sms, status_params(sms.provider_message_id, "delivered"))

    callback(client, sms, status_params(sms.provider_message_id, "undelivered", ErrorCode="30003"))

    assert deliveries(api, notification_id) == [("sms", "delivered", "")]
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
    send("sms")
    sms = Delivery.objects.get(notification_id=notification_id)

    callback(client, sms, status_params(sms.provider_message_id, "failed", ErrorCode="30005"))

    assert deliveries(api, notification_id) == [("sms", "failed", "30005")]


def _push_to_two_devices(api: APIClient, person: str) -> str:
    return accept(
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

    send("push")

    assert deliveries(api, notification_id) == [
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

    send("push")
    assert deliveries(api, notification_id) == [
        ("push", "failed", "UNREGISTERED"),
        ("push", "pending", "UNAVAILABLE"),
    ]
    send("push")

    assert deliveries(api, notification_id) == [
        ("push", "failed", "UNREGISTERED"),
        ("push", "failed", "UNREGISTERED"),
        ("sms", "pending", ""),
    ]
