"""Cancelling a "fallback" notification ends it where it is. A delivery already sent cannot
be called back, but when the provider reports later that it never arrived, or a send under
way fails for good, no next channel is tried. Through the API, the webhooks and the
sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.audiences.broadcasts import broadcast_expand
from notify.services.delivering.sending import DeliveryStream
from tests.harness import Sandbox
from tests.webhooks.fallback_calls import (
    CONTENT,
    PHONE,
    accept,
    bounce,
    deliveries,
    make_due,
    send,
)
from tests.webhooks.twilio_calls import callback, status_params

pytestmark = pytest.mark.usefixtures("fallback_provider_state")


def _cancel(api: APIClient, notification_id: str) -> Any:
    response = api.post(f"/api/v1/notifications/{notification_id}/cancel/")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_sms_reported_undelivered_after_the_cancel_brings_no_email(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    notification_id = accept(api, "cx-sms", ["sms", "email"])
    send("sms")
    sms = Delivery.objects.get(notification_id=notification_id)

    answer = _cancel(api, notification_id)
    # Nothing left to cancel: the text is with the carrier.
    assert [(d["channel"], d["status"]) for d in answer["deliveries"]] == [("sms", "sent")]
    reported = callback(
        client, sms, status_params(sms.provider_message_id, "undelivered", ErrorCode="30003")
    )

    assert reported.status_code == 204
    assert deliveries(api, notification_id) == [("sms", "failed", "30003")]
    send("email")
    assert sandbox.accepted(provider="smtp", to="cx-sms@example.com") == []


def test_an_email_bouncing_after_the_cancel_brings_no_sms(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    notification_id = accept(api, "cx-mail", None)
    send("email")
    email = Delivery.objects.get(notification_id=notification_id)
    _cancel(api, notification_id)

    assert bounce(client, email).status_code == 200

    assert deliveries(api, notification_id) == [("email", "failed", "bounced")]
    send("sms")
    assert sandbox.accepted(provider="twilio", to=PHONE) == []


def test_a_send_under_way_at_the_cancel_that_fails_for_good_brings_no_next_channel(
    api: APIClient, sandbox: Sandbox
) -> None:
    notification_id = accept(api, "cx-busy", ["sms", "email"])
    sandbox.fault("twilio", "twilio_21211", times=1)
    make_due("sms")
    stream = DeliveryStream(channel="sms", lane="standard", limit=10)
    claimed = stream.claim(10)

    answer = _cancel(api, notification_id)
    assert [(d["channel"], d["status"]) for d in answer["deliveries"]] == [("sms", "sending")]
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])

    assert deliveries(api, notification_id) == [("sms", "failed", "21211")]


def test_without_a_cancel_the_same_report_still_falls_back(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    """The control for the tests above: the cancel is what stops the next channel."""
    notification_id = accept(api, "cx-none", ["sms", "email"])
    send("sms")
    sms = Delivery.objects.get(notification_id=notification_id)

    callback(client, sms, status_params(sms.provider_message_id, "undelivered", ErrorCode="30003"))

    assert deliveries(api, notification_id) == [
        ("email", "pending", ""),
        ("sms", "failed", "30003"),
    ]


def test_a_cancelled_broadcasts_message_reported_undelivered_brings_no_email(
    api: APIClient, client: Client, sandbox: Sandbox
) -> None:
    created = api.post(
        "/api/v1/broadcasts/",
        {
            "recipients": [{"id": "cx-bc", "email": "cx-bc@example.com", "phone": PHONE}],
            "strategy": "fallback",
            "channels": ["sms", "email"],
            "content": CONTENT,
        },
        format="json",
    ).json()
    broadcast_expand(broadcast_id=created["id"])  # as the worker's task does
    send("sms")
    sms = Delivery.objects.get(notification__broadcast_id=created["id"])
    assert api.post(f"/api/v1/broadcasts/{created['id']}/cancel/").status_code == 200

    callback(client, sms, status_params(sms.provider_message_id, "undelivered", ErrorCode="30003"))

    assert list(
        Delivery.objects.filter(notification__broadcast_id=created["id"]).values_list(
            "channel", "status"
        )
    ) == [("sms", "failed")]
    send("email")
    assert sandbox.accepted(provider="smtp", to="cx-bc@example.com") == []
