"""ESP tracking routes fail closed: 404 until their secrets are set, 403 for bad
credentials, 413 for big bodies, before anything is parsed or changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.test import Client, override_settings

from notify.models import Delivery, Suppression

SECRET = "hooks:s3cret"
SIGNING_KEY = "mailgun-signing-key"


def _bounce(delivery: Delivery, email: str = "hooked@example.com") -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "ID": 42,
        "Email": email,
        "BouncedAt": "2026-11-21T10:00:00Z",
        "MessageID": "pm-bounce",
        "Description": "Unknown user",
        "Metadata": {"delivery_id": str(delivery.id)},
    }


def _post(
    client: Client, body: Any, credentials: str | None = SECRET, path: str = "postmark"
) -> Any:
    headers: dict[str, str] = {}
    if credentials is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        f"/anymail/{path}/tracking/", data, content_type="application/json", headers=headers
    )


def _unchanged(delivery: Delivery) -> bool:
    delivery.refresh_from_db()
    return delivery.status == "sent" and not Suppression.objects.exists()


def _anymail(**changes: Any) -> Any:
    return override_settings(ANYMAIL={**settings.ANYMAIL, **changes})


@_anymail(WEBHOOK_SECRET=None)
def test_without_a_webhook_secret_an_unauthenticated_bounce_is_not_found(
    client: Client, make_delivery: Any, caplog: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    response = _post(client, _bounce(delivery), credentials=None)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not found."}
    assert _unchanged(delivery)
    assert "ANYMAIL_WEBHOOK_SECRET not set" in caplog.text


@_anymail(WEBHOOK_SECRET=SECRET)
def test_a_bounce_without_credentials_is_forbidden(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    response = _post(client, _bounce(delivery), credentials=None)

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert _unchanged(delivery)


@_anymail(WEBHOOK_SECRET=["hooks:old", SECRET])
def test_any_secret_of_a_rotation_is_accepted(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    assert _post(client, _bounce(delivery), credentials="hooks:old").status_code == 200

    delivery.refresh_from_db()
    assert delivery.status == "failed"


@_anymail(WEBHOOK_SECRET=SECRET)
def test_a_bounce_naming_an_sms_delivery_changes_nothing(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="sms", to="+14155552671")

    response = _post(client, _bounce(delivery, email="+14155552671"))

    assert response.status_code == 200
    assert _unchanged(delivery)


@_anymail(WEBHOOK_SECRET=SECRET)
def test_a_bounce_for_another_address_changes_nothing(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    _post(client, _bounce(delivery, email="someone-else@example.com"))

    assert _unchanged(delivery)


@_anymail(WEBHOOK_SECRET=SECRET)
def test_a_malformed_delivery_id_in_the_metadata_is_ignored(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")
    body = {**_bounce(delivery), "Metadata": {"delivery_id": "not-a-uuid"}}

    assert _post(client, body).status_code == 200
    assert _unchanged(delivery)


@_anymail(WEBHOOK_SECRET=SECRET)
def test_a_body_that_is_not_json_gets_400_in_json(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    response = _post(client, "{not json")

    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert _unchanged(delivery)


@override_settings(NOTIFY_WEBHOOK_MAX_BYTES=1024)
@_anymail(WEBHOOK_SECRET=SECRET)
def test_an_oversized_body_gets_413_before_the_credentials_are_checked(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")
    body = {**_bounce(delivery), "Description": "x" * 2048}

    response = _post(client, body, credentials="hooks:wrong")

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert _unchanged(delivery)


@_anymail(WEBHOOK_SECRET=SECRET)
def test_routes_for_esps_notify_does_not_send_through_are_gone(client: Client, db: Any) -> None:
    for path in ("sendgrid/tracking", "postmark/inbound", "mandrill"):
        assert (
            client.post(f"/anymail/{path}/", "{}", content_type="application/json").status_code
            == 404
        )


def _mailgun_event(delivery: Delivery, key: str) -> dict[str, Any]:
    token, timestamp = "a" * 50, "1790000000"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"token": token, "timestamp": timestamp, "signature": signature.hexdigest()},
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "reason": "bounce",
            "recipient": delivery.to,
            "timestamp": 1790000000.0,
            "message": {"headers": {"message-id": "mg-1@example.com"}},
            "user-variables": {"delivery_id": str(delivery.id)},
        },
    }


@_anymail(WEBHOOK_SECRET=SECRET, MAILGUN_API_KEY="")
def test_mailgun_without_a_signing_key_is_not_found(client: Client, make_delivery: Any) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    response = _post(client, _mailgun_event(delivery, ""), path="mailgun")

    assert response.status_code == 404
    assert _unchanged(delivery)


@_anymail(WEBHOOK_SECRET=SECRET, MAILGUN_WEBHOOK_SIGNING_KEY=SIGNING_KEY)
def test_mailgun_events_need_basic_auth_and_the_signature(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")

    forged = _post(client, _mailgun_event(delivery, ""), path="mailgun")
    assert forged.status_code == 403
    assert _unchanged(delivery)

    response = _post(client, _mailgun_event(delivery, SIGNING_KEY), path="mailgun")

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert Suppression.objects.filter(address="hooked@example.com", reason="bounced").exists()


def _signed(event_data: Any, key: str = SIGNING_KEY) -> dict[str, Any]:
    token, timestamp = "b" * 50, "1790000000"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    signed = {"token": token, "timestamp": timestamp, "signature": signature.hexdigest()}
    return {"signature": signed, "event-data": event_data}


@_anymail(WEBHOOK_SECRET=SECRET, MAILGUN_WEBHOOK_SIGNING_KEY=SIGNING_KEY)
def test_a_signed_mailgun_event_anymail_cannot_parse_is_a_logged_400(
    client: Client, make_delivery: Any, caplog: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")
    good = _mailgun_event(delivery, SIGNING_KEY)["event-data"]
    malformed = [
        ["failed"],  # a list where the event belongs
        {**good, "event": None, "timestamp": "yesterday"},
        {**good, "message": {"headers": {"message-id": 42}}},
        {key: value for key, value in good.items() if key != "event"},
    ]

    for event_data in malformed:
        response = _post(client, _signed(event_data), path="mailgun")

        assert response.status_code == 400, (event_data, response.content[:300])
        assert response.json() == {
            "error": "parse_error",
            "detail": "The webhook body is not a valid mailgun tracking event.",
        }
    assert _unchanged(delivery)
    assert caplog.text.count("mailgun: refused a malformed webhook") == len(malformed)


@_anymail(WEBHOOK_SECRET=SECRET, MAILGUN_WEBHOOK_SIGNING_KEY=SIGNING_KEY)
def test_a_mailgun_signature_block_of_the_wrong_shape_is_forbidden(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")
    body = {**_mailgun_event(delivery, SIGNING_KEY), "signature": ["a", "b"]}

    response = _post(client, body, path="mailgun")

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert _unchanged(delivery)


@_anymail(WEBHOOK_SECRET=SECRET, MAILGUN_WEBHOOK_SIGNING_KEY=SIGNING_KEY)
def test_mailgun_user_variables_that_are_not_an_object_do_not_break_the_receiver(
    client: Client, make_delivery: Any
) -> None:
    delivery = make_delivery(channel="email", to="hooked@example.com")
    event = _mailgun_event(delivery, SIGNING_KEY)
    event["event-data"] = {**event["event-data"], "user-variables": ["x"], "recipient": 7}

    response = _post(client, event, path="mailgun")

    # Nothing names the delivery any more: accepted, and nothing matched.
    assert response.status_code == 200
    assert _unchanged(delivery)


@_anymail(
    WEBHOOK_SECRET=SECRET,
    POSTMARK_SERVER_TOKEN="pm-token",
    MAILGUN_WEBHOOK_SIGNING_KEY=SIGNING_KEY,
)
def test_a_get_on_an_esp_route_is_a_405_in_json(client: Client, make_delivery: Any) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode()}

    for path in ("/anymail/postmark/tracking/", "/anymail/mailgun/tracking/"):
        for method in (client.get, client.put, client.delete):
            response = method(path, headers=auth)

            assert response.status_code == 405, (path, response.content[:200])
            assert response.json() == {
                "error": "method_not_allowed",
                "detail": f'Method "{response.request["REQUEST_METHOD"]}" not allowed.',
            }
            assert "POST" in response["Allow"]


@_anymail(WEBHOOK_SECRET=None)
def test_a_get_on_an_unconfigured_esp_route_is_still_not_found(client: Client, db: Any) -> None:
    response = client.get("/anymail/postmark/tracking/")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
