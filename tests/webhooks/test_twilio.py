"""Twilio status callbacks: signed with X-Twilio-Signature over the public URL and the POST
parameters; applied only when they move a delivery forward, and only to the SMS delivery and
the number they name. The callbacks refused, and why, are in test_twilio_refusals.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator

from notify.models import Suppression
from notify.services.accepting.batch import notification_submit
from notify.services.access.apikeys import api_key_create
from tests.webhooks.twilio_calls import callback, row, status_params


def test_it_marks_a_delivery_delivered_on_a_signed_callback(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SM" + "a" * 32)

    response = callback(client, delivery, status_params("SM" + "a" * 32, "delivered"))

    assert response.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.delivered_at is not None


def test_a_late_sent_callback_never_moves_delivered_back(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMc")
    assert callback(client, delivery, status_params("SMc", "delivered")).status_code == 204
    assert callback(client, delivery, status_params("SMc", "sent")).status_code == 204
    assert callback(client, delivery, status_params("SMc", "delivered")).status_code == 204

    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_a_carrier_failure_fails_the_delivery_with_its_code(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMd")

    callback(client, delivery, status_params("SMd", "undelivered", ErrorCode="30003"))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.error_code) == ("failed", "30003")


def test_a_stop_reply_suppresses_the_number_for_later_notifications(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMe")

    callback(client, delivery, status_params("SMe", "failed", ErrorCode="21610"))

    assert Suppression.objects.filter(
        channel="sms", address="+14155552671", reason="unsubscribed"
    ).exists()
    key, _ = api_key_create(name="t")
    later = notification_submit(
        api_key=key,
        data={
            "recipient": {"id": "hooked"},
            "content": {"sms": {"text": "hi"}},
            "channels": ["sms"],
        },
        idempotency_key=None,
        fingerprint="",
    )
    skipped = later.notification.deliveries.get()
    assert (skipped.status, skipped.error_code) == ("skipped", "suppressed")


def test_a_callback_settles_an_sms_whose_send_reply_was_lost(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(status="failed", error_code="ambiguous")

    callback(client, delivery, status_params("SMf", "sent"))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_message_id) == ("sent", "SMf")


def test_an_unknown_delivery_is_acknowledged_and_ignored(client: Client, db: Any) -> None:
    url = "http://testserver/webhooks/twilio/status/?delivery=00000000-0000-0000-0000-000000000000"
    params = status_params("SMg", "delivered")
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

    response = client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 204


def test_a_signed_callback_naming_an_email_delivery_changes_nothing(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    response = callback(
        client, delivery, status_params("SMj", "failed", ErrorCode="21610", To="hooked@example.com")
    )

    assert response.status_code == 204
    assert row(delivery) == ("sent", "", "")
    assert not Suppression.objects.exists()


def test_a_signed_callback_about_another_number_changes_nothing(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery()

    callback(client, delivery, status_params("SMk", "failed", ErrorCode="21610", To="+14155550000"))

    assert row(delivery) == ("sent", "", "")
    assert not Suppression.objects.exists()


def test_a_stop_error_suppresses_the_number_only_in_the_deliverys_tenant(
    client: Client, make_delivery: Any
) -> None:
    make_delivery(tenant="default")
    delivery = make_delivery(tenant="acme", provider_message_id="SMl")

    callback(client, delivery, status_params("SMl", "failed", ErrorCode="21610"))

    assert list(Suppression.objects.values_list("tenant", "channel", "address")) == [
        ("acme", "sms", "+14155552671")
    ]
