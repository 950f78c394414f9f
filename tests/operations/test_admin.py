"""The operator controls in the admin: the retry action is a recorded replay, failed
deliveries filter by error class, pauses are added and resumed there, and the webhook pages
show endpoints and their delivery log without the secrets."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from notify.models import ApiKey, DeliveryAttempt, Pause, Replay, WebhookDelivery
from notify.services.delivering.protection import channel_paused, provider_wait, tenants_paused
from notify.services.webhooks.endpoints import webhook_endpoint_create
from tests.admin.helpers import messages_of, run_action, shown_ids
from tests.operations.conftest import make_failed

DELIVERIES = "/admin/notify/delivery/"


def test_the_retry_action_is_a_recorded_replay(admin_client: Client, db: Any) -> None:
    failed = make_failed(count=2)

    first = run_action(admin_client, DELIVERIES, "retry_failed", failed)
    second = run_action(admin_client, DELIVERIES, "retry_failed", failed)

    assert messages_of(first) == ["2 deliveries put back in line for sending."]
    assert messages_of(second) == ["No failed deliveries in the selection; nothing changed."]
    replays = list(Replay.objects.order_by("created_at"))
    assert [(r.source, r.requested_by, r.count) for r in replays] == [
        ("admin", "admin", 2),
        ("admin", "admin", 0),
    ]
    page = admin_client.get("/admin/notify/replay/")
    assert shown_ids(page) == {r.pk for r in replays}
    assert "2 chosen deliveries" in page.content.decode()
    assert admin_client.get(f"/admin/notify/replay/{replays[0].pk}/change/").status_code == 200


def test_failed_deliveries_filter_by_the_error_class_of_their_last_attempt(
    admin_client: Client, db: Any
) -> None:
    exhausted, refused = make_failed(count=2)
    for delivery, outcome in ((exhausted, "transient"), (refused, "permanent")):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=1,
            provider="twilio",
            outcome=outcome,
            started_at=timezone.now(),
        )

    assert shown_ids(admin_client.get(DELIVERIES, {"error_class": "transient"})) == {exhausted.pk}
    assert shown_ids(admin_client.get(DELIVERIES, {"error_class": "permanent"})) == {refused.pk}


def test_an_operator_pauses_and_resumes_a_provider(admin_client: Client, db: Any) -> None:
    assert admin_client.get("/admin/notify/pause/add/").status_code == 200

    added = admin_client.post(
        "/admin/notify/pause/add/",
        {"target": "provider:twilio", "reason": "carrier outage"},
        follow=True,
    )

    assert added.status_code == 200
    pause = Pause.objects.get()
    assert (pause.kind, pause.target, pause.paused_by) == ("provider", "twilio", "admin")
    assert provider_wait(provider="twilio") == float("inf")
    assert "Paused now: provider twilio." in messages_of(admin_client.get("/admin/notify/pause/"))

    resumed = run_action(admin_client, "/admin/notify/pause/", "resume", [pause])

    assert messages_of(resumed)[-1] == "Resumed: provider twilio."
    assert provider_wait(provider="twilio") == 0
    pause.refresh_from_db()
    assert pause.resumed_by == "admin" and pause.resumed_at is not None


def test_an_operator_pauses_a_channel_for_one_tenant_never_a_provider(
    admin_client: Client, db: Any
) -> None:
    refused = admin_client.post(
        "/admin/notify/pause/add/", {"target": "provider:fcm", "tenant": "acme", "reason": "x"}
    )
    admin_client.post(
        "/admin/notify/pause/add/", {"target": "channel:sms", "tenant": "acme", "reason": "spam"}
    )

    assert "A provider carries every tenant" in refused.content.decode()
    pause = Pause.objects.get()
    assert (pause.kind, pause.target, pause.tenant) == ("channel", "sms", "acme")
    assert tenants_paused(channel="sms") == ["acme"] and not channel_paused(channel="sms")
    listing = admin_client.get("/admin/notify/pause/")
    assert "Paused now: channel sms for acme." in messages_of(listing)

    resumed = run_action(admin_client, "/admin/notify/pause/", "resume", [pause])

    assert messages_of(resumed)[-1] == "Resumed: channel sms for acme."
    assert tenants_paused(channel="sms") == []


def test_the_webhook_pages_show_endpoints_and_their_log_but_no_secret(
    admin_client: Client, api_key: tuple[ApiKey, str]
) -> None:
    endpoint = webhook_endpoint_create(api_key=api_key[0], url="https://hooks.example.com/n")
    event = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="delivery.failed",
        payload={"type": "delivery.failed", "data": {"status": "failed"}},
        status="failed",
        attempts=8,
        last_error="HTTP 500: oops",
        next_attempt_at=timezone.now(),
    )

    pages = [
        admin_client.get("/admin/notify/webhookendpoint/"),
        admin_client.get(f"/admin/notify/webhookendpoint/{endpoint.pk}/change/"),
        admin_client.get("/admin/notify/webhookdelivery/"),
        admin_client.get(f"/admin/notify/webhookdelivery/{event.pk}/change/"),
    ]

    assert [p.status_code for p in pages] == [200] * 4
    assert all(endpoint.secret not in p.content.decode() for p in pages)
    assert "HTTP 500: oops" in pages[3].content.decode()
    disabled = run_action(admin_client, "/admin/notify/webhookendpoint/", "disable", [endpoint])
    assert messages_of(disabled) == ["Disabled 1 endpoint."]
    endpoint.refresh_from_db()
    assert endpoint.active is False and endpoint.disabled_reason == "disabled by admin"
