"""Twilio status callbacks: signed with X-Twilio-Signature over the public URL and the POST
parameters; applied only when they move a delivery forward."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client, override_settings
from twilio.request_validator import RequestValidator

from notify.models import Delivery, Suppression
from notify.services.accepting.batch import notification_submit
from notify.services.access.apikeys import api_key_create


def _callback(
    client: Client,
    delivery: Delivery,
    params: dict[str, str],
    signed_params: dict[str, str] | None = None,
) -> Any:
    url = f"http://testserver/webhooks/twilio/status/?delivery={delivery.id}"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        url, signed_params if signed_params is not None else params
    )
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


def _status(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "To": "+14155552671",
        "From": settings.TWILIO_FROM,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def test_it_marks_a_delivery_delivered_on_a_signed_callback(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SM" + "a" * 32)

    response = _callback(client, delivery, _status("SM" + "a" * 32, "delivered"))

    assert response.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.delivered_at is not None


def test_it_refuses_a_tampered_callback(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery(provider_message_id="SM" + "b" * 32)
    genuine = _status("SM" + "b" * 32, "sent")

    response = _callback(
        client,
        delivery,
        {**genuine, "MessageStatus": "failed", "ErrorCode": "30003"},
        signed_params=genuine,
    )

    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_it_refuses_an_unsigned_callback(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery()

    response = client.post(
        f"/webhooks/twilio/status/?delivery={delivery.id}", _status("SMx", "delivered")
    )

    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_a_late_sent_callback_never_moves_delivered_back(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMc")
    assert _callback(client, delivery, _status("SMc", "delivered")).status_code == 204
    assert _callback(client, delivery, _status("SMc", "sent")).status_code == 204
    assert _callback(client, delivery, _status("SMc", "delivered")).status_code == 204

    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_a_carrier_failure_fails_the_delivery_with_its_code(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMd")

    _callback(client, delivery, _status("SMd", "undelivered", ErrorCode="30003"))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.error_code) == ("failed", "30003")


def test_a_stop_reply_suppresses_the_number_for_later_notifications(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMe")

    _callback(client, delivery, _status("SMe", "failed", ErrorCode="21610"))

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

    _callback(client, delivery, _status("SMf", "sent"))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_message_id) == ("sent", "SMf")


def test_an_unknown_delivery_is_acknowledged_and_ignored(client: Client, db: Any) -> None:
    url = "http://testserver/webhooks/twilio/status/?delivery=00000000-0000-0000-0000-000000000000"
    params = _status("SMg", "delivered")
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

    response = client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 204


@override_settings(
    USE_X_FORWARDED_HOST=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ALLOWED_HOSTS=["notify.example.com", "testserver"],
)
def test_a_callback_signed_for_the_public_https_url_is_accepted_behind_a_proxy(
    client: Client, make_delivery: Any
) -> None:
    """Twilio signs https://notify.example.com/…; the request reaches Django as plain HTTP
    from the proxy, which passes the public host and scheme along."""
    delivery = make_delivery(provider_message_id="SMp")
    public = f"https://notify.example.com/webhooks/twilio/status/?delivery={delivery.id}"
    params = _status("SMp", "delivered")
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(public, params)

    response = client.post(
        f"/webhooks/twilio/status/?delivery={delivery.id}",
        params,
        HTTP_X_TWILIO_SIGNATURE=signature,
        HTTP_X_FORWARDED_HOST="notify.example.com",
        HTTP_X_FORWARDED_PROTO="https",
    )

    assert response.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def _row(delivery: Delivery) -> tuple[str, str, str]:
    delivery.refresh_from_db()
    return delivery.status, delivery.error_code, delivery.provider_message_id


@override_settings(TWILIO_AUTH_TOKEN="")
def test_without_an_auth_token_a_callback_signed_with_the_empty_key_is_not_found(
    client: Client, make_delivery: Any, caplog: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMh")
    url = f"http://testserver/webhooks/twilio/status/?delivery={delivery.id}"
    params = _status("SMh", "failed", ErrorCode="21610")
    signature = RequestValidator("").compute_signature(url, params)

    response = client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not found."}
    assert _row(delivery) == ("sent", "", "SMh")
    assert not Suppression.objects.exists()
    assert "TWILIO_AUTH_TOKEN is not set" in caplog.text


@override_settings(TWILIO_AUTH_TOKEN="")
def test_without_an_auth_token_an_inbound_stop_signed_with_the_empty_key_is_not_found(
    client: Client, make_delivery: Any
) -> None:
    make_delivery()  # a recipient with this number, so a STOP would suppress it
    url = "http://testserver/webhooks/twilio/inbound/"
    params = {"From": "+14155552671", "To": settings.TWILIO_FROM, "Body": "STOP"}
    signature = RequestValidator("").compute_signature(url, params)

    response = client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 404
    assert not Suppression.objects.exists()


def test_an_unsigned_callback_is_refused_in_json(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery()

    response = client.post(
        f"/webhooks/twilio/status/?delivery={delivery.id}",
        _status("SMi", "failed", ErrorCode="21610"),
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert _row(delivery) == ("sent", "", "")
    assert not Suppression.objects.exists()


def test_a_signed_callback_naming_an_email_delivery_changes_nothing(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    response = _callback(
        client, delivery, _status("SMj", "failed", ErrorCode="21610", To="hooked@example.com")
    )

    assert response.status_code == 204
    assert _row(delivery) == ("sent", "", "")
    assert not Suppression.objects.exists()


def test_a_signed_callback_about_another_number_changes_nothing(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery()

    _callback(client, delivery, _status("SMk", "failed", ErrorCode="21610", To="+14155550000"))

    assert _row(delivery) == ("sent", "", "")
    assert not Suppression.objects.exists()


def test_a_stop_error_suppresses_the_number_only_in_the_deliverys_tenant(
    client: Client, make_delivery: Any
) -> None:
    make_delivery(tenant="default")
    delivery = make_delivery(tenant="acme", provider_message_id="SMl")

    _callback(client, delivery, _status("SMl", "failed", ErrorCode="21610"))

    assert list(Suppression.objects.values_list("tenant", "channel", "address")) == [
        ("acme", "sms", "+14155552671")
    ]


def test_a_signed_callback_with_a_malformed_delivery_id_gets_a_400_in_json(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMm")
    url = "http://testserver/webhooks/twilio/status/?delivery=not-a-uuid"
    params = _status("SMm", "failed", ErrorCode="30003")
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

    response = client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 400
    assert response.json() == {
        "error": "validation_error",
        "detail": "Invalid input.",
        "fields": {"delivery": ["Must be a valid UUID."]},
    }
    assert _row(delivery) == ("sent", "", "SMm")


@override_settings(NOTIFY_WEBHOOK_MAX_BYTES=1024)
def test_an_oversized_callback_gets_413_even_when_signed(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMn")
    params = _status("SMn", "failed", ErrorCode="21610", Body="x" * 2048)

    response = _callback(client, delivery, params)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert _row(delivery) == ("sent", "", "SMn")
    assert not Suppression.objects.exists()


def test_a_get_or_put_on_a_twilio_route_is_a_405_in_json(client: Client, db: Any) -> None:
    for path in ("/webhooks/twilio/status/", "/webhooks/twilio/inbound/"):
        for method in (client.get, client.put):
            response = method(path)

            assert response.status_code == 405, (path, response.content[:200])
            assert response["Allow"] == "POST"
            assert response.json() == {
                "error": "method_not_allowed",
                "detail": f'Method "{response.request["REQUEST_METHOD"]}" not allowed.',
            }


@override_settings(TWILIO_AUTH_TOKEN="")
def test_a_get_on_an_unconfigured_twilio_route_is_not_found(client: Client, db: Any) -> None:
    response = client.get("/webhooks/twilio/status/")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
