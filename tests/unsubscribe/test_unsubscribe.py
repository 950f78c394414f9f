"""One-click unsubscribe from an email, and SMS STOP/START, as a recipient uses them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from notify.models import Notification, Suppression

URL = "/api/v1/notifications/"
PERSON = {"id": "u-unsub", "email": "reader@example.com", "phone": "+14155552671"}


def _send(api: APIClient, **extra: Any) -> dict[str, Any]:
    body = {
        "recipient": PERSON,
        "channels": ["email"],
        "content": {"email": {"subject": "News", "text": "Bye: {{ unsubscribe_url }}"}},
        **extra,
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 202, response.content
    return dict(response.json())


def _email_part(notification_id: str) -> dict[str, Any]:
    return dict(Notification.objects.get(id=notification_id).content["email"])


def test_non_critical_email_carries_rfc_8058_headers_and_a_link(api: APIClient) -> None:
    part = _email_part(_send(api, category="newsletter")["id"])

    link = part["headers"]["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://testserver/u/")
    assert part["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in part["text"]  # templates can show it too


def test_critical_email_has_no_unsubscribe(api: APIClient) -> None:
    part = _email_part(_send(api, category="security", priority="critical")["id"])

    assert "headers" not in part


def test_one_click_post_unsubscribes_from_that_category_only(
    api: APIClient, client: Client
) -> None:
    part = _email_part(_send(api, category="newsletter")["id"])
    path = part["headers"]["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")

    page = client.get(path)
    assert page.status_code == 200 and b"newsletter" in page.content
    done = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200 and b"unsubscribed" in done.content

    newsletter = _send(api, category="newsletter")["deliveries"][0]
    billing = _send(api, category="billing")["deliveries"][0]
    assert (newsletter["status"], newsletter["error_code"]) == ("skipped", "opted_out")
    assert billing["status"] == "pending"


def test_a_forged_link_changes_nothing(client: Client, db: Any) -> None:
    response = client.post("/u/not-a-real-token/")

    assert response.status_code == 404
    assert b"not valid" in response.content


def _inbound(client: Client, body: str) -> Any:
    url = "http://testserver/webhooks/twilio/inbound/"
    params = {
        "From": PERSON["phone"],
        "To": settings.TWILIO_FROM,
        "Body": body,
        "MessageSid": "SMin",
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
    }
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_sms_stop_suppresses_the_number_and_start_lifts_it(api: APIClient, client: Client) -> None:
    _send(api)  # the recipient exists with that phone

    assert _inbound(client, " stop ").status_code == 200
    sms = api.post(
        URL,
        {
            "recipient": {"id": PERSON["id"]},
            "channels": ["sms"],
            "content": {"sms": {"text": "hi"}},
        },
        format="json",
    ).json()
    assert sms["deliveries"][0]["error_code"] == "suppressed"
    assert Suppression.objects.filter(channel="sms", reason="unsubscribed").exists()

    _inbound(client, "START")
    again = api.post(
        URL,
        {
            "recipient": {"id": PERSON["id"]},
            "channels": ["sms"],
            "content": {"sms": {"text": "hi"}},
        },
        format="json",
    ).json()
    assert again["deliveries"][0]["status"] == "pending"


def test_an_unsigned_inbound_sms_is_refused(client: Client, db: Any) -> None:
    response = client.post("/webhooks/twilio/inbound/", {"From": "+14155552671", "Body": "STOP"})

    assert response.status_code == 403
    assert not Suppression.objects.exists()
