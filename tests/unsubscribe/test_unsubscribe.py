"""One-click unsubscribe from an email, and SMS STOP/START, as a recipient uses them."""

from __future__ import annotations

import base64
import contextlib
import time
import zlib
from typing import Any

import time_machine
from django.conf import settings
from django.core import signing
from django.test import Client, override_settings
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from notify.models import Notification, Preference, Suppression
from notify.services.access.apikeys import api_key_create

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


def _link_path(api: APIClient, **extra: Any) -> str:
    part = _email_part(_send(api, **extra)["id"])
    return str(part["headers"]["List-Unsubscribe"].strip("<>").removeprefix("http://testserver"))


def _days_later(days: float) -> Any:
    return time_machine.travel(time.time() + days * 86_400, tick=True)


def _opted_out() -> bool:
    return Preference.objects.filter(recipient__external_id=PERSON["id"], enabled=False).exists()


def test_the_link_reveals_neither_tenant_nor_recipient_nor_category(db: Any) -> None:
    _, raw = api_key_create(name="acme", tenant="acme-corp")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    token = _link_path(api, category="newsletter").split("/")[2]

    for secret in ("acme-corp", PERSON["id"], "newsletter"):
        assert all(secret.encode() not in form for form in _readable_forms(token))


def _readable_forms(token: str) -> list[bytes]:
    """What anyone holding the link can read: the token, its base64 decoding, inflated if
    it is zlib-compressed (Django's signing.dumps(compress=True) format)."""
    body = token.partition(":")[0].lstrip(".")
    decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    forms = [token.encode(), decoded]
    with contextlib.suppress(zlib.error):
        forms.append(zlib.decompress(decoded))
    return forms


def test_a_link_works_until_its_max_age_then_expires(api: APIClient, client: Client) -> None:
    path = _link_path(api, category="newsletter")
    days = settings.NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS

    with _days_later(days - 1):
        assert client.get(path).status_code == 200
    with _days_later(days + 1):
        page = client.get(path)
        done = client.post(path)

    assert page.status_code == 410 and b"expired" in page.content
    assert done.status_code == 410
    assert not _opted_out()


def test_an_old_format_link_keeps_working_for_the_same_period(
    api: APIClient, client: Client
) -> None:
    _send(api)  # the recipient exists
    # The readable, signed format of links in emails sent before tokens were encrypted.
    legacy = signing.dumps(["default", PERSON["id"], "newsletter"], salt="notify.unsubscribe")
    path = f"/u/{legacy}/"
    days = settings.NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS

    with _days_later(days + 1):
        assert client.post(path).status_code == 410
    assert not _opted_out()
    done = client.post(path)
    assert done.status_code == 200 and b"newsletter" in done.content
    assert _opted_out()


def test_a_link_survives_a_secret_key_rotation(api: APIClient, client: Client) -> None:
    path = _link_path(api, category="newsletter")

    with override_settings(SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert client.post(path).status_code == 200
    assert _opted_out()


def test_a_link_signed_with_another_key_changes_nothing(api: APIClient, client: Client) -> None:
    path = _link_path(api, category="newsletter")

    with override_settings(SECRET_KEY="someone-elses-key"):
        assert client.post(path).status_code == 404
    assert not _opted_out()


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
