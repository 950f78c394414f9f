"""What the Twilio webhook tests post: a status callback's parameters, signed (or not) with
X-Twilio-Signature over the URL, and the delivery columns a callback may change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator

from notify.models import Delivery


def callback(
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


def status_params(sid: str, status: str, **extra: str) -> dict[str, str]:
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


def row(delivery: Delivery) -> tuple[str, str, str]:
    delivery.refresh_from_db()
    return delivery.status, delivery.error_code, delivery.provider_message_id
