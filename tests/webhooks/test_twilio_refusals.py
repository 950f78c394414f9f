"""Twilio webhook requests refused, each in the API's JSON error shape: a tampered or unsigned
callback (403), any callback while TWILIO_AUTH_TOKEN is unset (404), a malformed delivery id
(400), an oversized body (413), a method other than POST (405); and the signature of the
public https URL, which a proxy in front must not break."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client, override_settings
from twilio.request_validator import RequestValidator

from notify.models import Suppression
from tests.webhooks.twilio_calls import callback, row, status_params


def test_it_refuses_a_tampered_callback(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery(provider_message_id="SM" + "b" * 32)
    genuine = status_params("SM" + "b" * 32, "sent")

    response = callback(
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
        f"/webhooks/twilio/status/?delivery={delivery.id}", status_params("SMx", "delivered")
    )

    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "sent"


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
    params = status_params("SMp", "delivered")
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


@override_settings(TWILIO_AUTH_TOKEN="")
def test_without_an_auth_token_a_callback_signed_with_the_empty_key_is_not_found(
    client: Client, make_delivery: Any, caplog: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMh")
    url = f"http://testserver/webhooks/twilio/status/?delivery={delivery.id}"
    params = status_params("SMh", "failed", ErrorCode="21610")
    signature = RequestValidator("").compute_signature(url, params)

    response = client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not found."}
    assert row(delivery) == ("sent", "", "SMh")
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
        status_params("SMi", "failed", ErrorCode="21610"),
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert row(delivery) == ("sent", "", "")
    assert not Suppression.objects.exists()


def test_a_signed_callback_with_a_malformed_delivery_id_gets_a_400_in_json(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMm")
    url = "http://testserver/webhooks/twilio/status/?delivery=not-a-uuid"
    params = status_params("SMm", "failed", ErrorCode="30003")
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

    response = client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 400
    assert response.json() == {
        "error": "validation_error",
        "detail": "Invalid input.",
        "fields": {"delivery": ["Must be a valid UUID."]},
    }
    assert row(delivery) == ("sent", "", "SMm")


@override_settings(NOTIFY_WEBHOOK_MAX_BYTES=1024)
def test_an_oversized_callback_gets_413_even_when_signed(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(provider_message_id="SMn")
    params = status_params("SMn", "failed", ErrorCode="21610", Body="x" * 2048)

    response = callback(client, delivery, params)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert row(delivery) == ("sent", "", "SMn")
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
