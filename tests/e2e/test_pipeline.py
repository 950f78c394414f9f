"""One notification travels end to end: REST API → Postgres → Celery worker (a real process)
→ real provider SDK → provider sandbox, and its state comes back through the API."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import Delivery, DeliveryAttempt, Device, Notification
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e

EVERYTHING = {
    "recipient": {
        "id": "user-42",
        "email": "ada@example.com",
        "phone": "+14155552671",
        "push_tokens": ["device-token-1"],
    },
    "content": {
        "email": {
            "subject": "Your password changed",
            "text": "Hi Ada, it changed.",
            "html": "<p>Hi Ada, it <b>changed</b>.</p>",
        },
        "sms": {"text": "Your Notify password changed."},
        "push": {"title": "Password changed", "body": "Was it you?", "data": {"k": "v"}},
    },
}


def _post(api: APIClient, body: dict[str, Any], **headers: Any) -> dict[str, Any]:
    response = api.post("/api/v1/notifications/", body, format="json", **headers)
    assert response.status_code == 202, response.content
    return dict(response.json())


def _settled(api: APIClient, notification_id: str, *statuses: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = api.get(f"/api/v1/notifications/{notification_id}/").json()
        done = all(d["status"] in statuses for d in body["deliveries"])
        return body if done else None

    return wait_for(check, timeout=30, what=f"deliveries to reach {statuses}")


def test_it_delivers_email_sms_and_push_through_the_real_sdks(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    created = _post(api, EVERYTHING)
    assert {d["channel"] for d in created["deliveries"]} == {"email", "sms", "push"}

    body = _settled(api, created["id"], "sent")

    assert body["status"] == "sent"
    by_channel = {d["channel"]: d for d in body["deliveries"]}
    email = sandbox.accepted(provider="smtp", delivery_id=by_channel["email"]["id"])
    assert len(email) == 1
    assert email[0]["body"]["subject"] == "Your password changed"
    assert "it changed" in email[0]["body"]["text"]
    assert "<b>changed</b>" in email[0]["body"]["html"]
    headers = {k.lower(): v.strip() for k, v in email[0]["body"]["headers"].items()}
    assert headers["list-unsubscribe"].startswith("<http://testserver/u/")
    assert headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    sms = sandbox.accepted(provider="twilio", delivery_id=by_channel["sms"]["id"])
    assert [(m["to"], m["body"]["Body"]) for m in sms] == [
        ("+14155552671", "Your Notify password changed.")
    ]
    push = sandbox.accepted(provider="fcm", delivery_id=by_channel["push"]["id"])
    assert len(push) == 1
    message = push[0]["body"]
    assert message.get("token", message.get("fid")) == "device-token-1"
    assert message["notification"] == {"title": "Password changed", "body": "Was it you?"}
    assert by_channel["sms"]["provider"] == "twilio"
    assert by_channel["sms"]["provider_message_id"].startswith("SM")
    assert by_channel["push"]["provider_message_id"].startswith("projects/notify-test/")
    assert all(d["attempts"] == 1 for d in body["deliveries"])


def test_it_retries_a_provider_503_and_sends_once(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("twilio", "http_503", times=2)
    created = _post(
        api,
        {
            "recipient": {"id": "u-503", "phone": "+14155552671"},
            "content": {"sms": {"text": "third time lucky"}},
        },
    )

    body = _settled(api, created["id"], "sent", "failed")

    delivery = body["deliveries"][0]
    assert delivery["status"] == "sent"
    assert delivery["attempts"] == 3
    outcomes = list(
        DeliveryAttempt.objects.filter(delivery_id=delivery["id"])
        .order_by("number")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["transient", "transient", "sent"]
    hits = sandbox.messages(provider="twilio", delivery_id=delivery["id"])
    assert [m["accepted"] for m in reversed(hits)] == [False, False, True]


def test_it_fails_twilio_21211_at_once_without_retrying(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("twilio", "twilio_21211", times=1)
    created = _post(
        api,
        {
            "recipient": {"id": "u-21211", "phone": "+14155552671"},
            "content": {"sms": {"text": "never arrives"}},
        },
    )

    delivery = _settled(api, created["id"], "failed")["deliveries"][0]

    assert delivery["attempts"] == 1
    assert delivery["error_code"] == "21211"
    assert "21211" in delivery["last_error"]
    assert len(sandbox.messages(provider="twilio", delivery_id=delivery["id"])) == 1


def test_it_deactivates_a_device_fcm_reports_unregistered(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("fcm", "fcm_unregistered", times=1)
    created = _post(
        api,
        {
            "recipient": {"id": "u-unreg", "push_tokens": ["stale-token"]},
            "content": {"push": {"title": "hello"}},
        },
    )

    delivery = _settled(api, created["id"], "failed")["deliveries"][0]

    assert delivery["attempts"] == 1
    assert delivery["error_code"] == "UNREGISTERED"
    device = Device.objects.get(token="stale-token")
    assert device.active is False
    # The next notification has no active device left to send to.
    again = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u-unreg"},
            "channels": ["push"],
            "content": {"push": {"title": "hello again"}},
        },
        format="json",
    )
    assert again.status_code == 202
    assert again.json()["deliveries"][0]["status"] == "skipped"


def test_the_same_idempotency_key_sends_once(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    body = {
        "recipient": {"id": "u-idem", "email": "idem@example.com"},
        "content": {"email": {"subject": "Once", "text": "only once"}},
    }

    first = _post(api, body, HTTP_IDEMPOTENCY_KEY="order-1234-shipped")
    second = _post(api, body, HTTP_IDEMPOTENCY_KEY="order-1234-shipped")
    _settled(api, first["id"], "sent")

    assert second["id"] == first["id"]
    assert Notification.objects.count() == 1
    assert len(sandbox.accepted(provider="smtp", to="idem@example.com")) == 1


def test_a_scheduled_send_waits_for_send_at(api: APIClient, stack: Stack, sandbox: Sandbox) -> None:
    from datetime import timedelta

    from django.utils import timezone

    send_at = timezone.now() + timedelta(seconds=3)
    created = _post(
        api,
        {
            "recipient": {"id": "u-later", "email": "later@example.com"},
            "content": {"email": {"subject": "Later", "text": "later"}},
            "send_at": send_at.isoformat(),
        },
    )
    assert created["deliveries"][0]["status"] == "pending"

    _settled(api, created["id"], "sent")

    received = sandbox.accepted(provider="smtp", to="later@example.com")
    assert len(received) == 1
    delivery = Delivery.objects.get(id=created["deliveries"][0]["id"])
    assert delivery.sent_at is not None and delivery.sent_at >= send_at


def test_a_cancelled_notification_is_never_sent(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    created = _post(
        api,
        {
            "recipient": {"id": "u-cancel", "email": "cancel@example.com"},
            "content": {"email": {"subject": "No", "text": "no"}},
            "send_at": (timezone.now() + timedelta(seconds=2)).isoformat(),
        },
    )

    cancelled = api.post(f"/api/v1/notifications/{created['id']}/cancel/")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    import time

    time.sleep(3.5)  # past send_at, and past several sweeps
    assert sandbox.messages(provider="smtp", to="cancel@example.com") == []
    assert Delivery.objects.get(id=created["deliveries"][0]["id"]).status == "cancelled"


def test_make_run_recognises_a_started_worker_and_beat(stack: Stack) -> None:
    """`make run` prints its banner once every process shows its ready text; a log-level
    change must not silence the line it waits for."""
    from notify.stack.commands import stack_processes

    waits = {spec.name: spec.ready_text or "" for spec in stack_processes(8000, "x")}
    worker, beat = stack.worker, stack.beat
    assert worker is not None and beat is not None
    wait_for(lambda: waits["beat"] in beat.output(), timeout=15, what="beat's ready text")
    assert waits["worker"] and waits["worker"] in worker.output()
