"""Which providers' callbacks are expected, and which secrets each still lacks."""

from __future__ import annotations

from typing import Any

import pytest

from notify.services.webhooks.provider_secrets import (
    provider_webhook_secrets_missing,
    provider_webhooks_in_use,
)


def test_the_providers_in_use_are_the_configured_senders(settings: Any) -> None:
    settings.EMAIL_PROVIDER, settings.EMAIL_PROVIDERS = "smtp", ["smtp", "postmark"]
    settings.TWILIO_ACCOUNT_SID = "AC123"
    assert provider_webhooks_in_use() == ["twilio", "postmark"]

    settings.TWILIO_ACCOUNT_SID = ""
    settings.EMAIL_PROVIDER, settings.EMAIL_PROVIDERS = "mailgun", ["mailgun"]
    assert provider_webhooks_in_use() == ["mailgun"]


def test_twilio_needs_its_auth_token(settings: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    assert provider_webhook_secrets_missing(provider="twilio") == ["TWILIO_AUTH_TOKEN"]
    settings.TWILIO_AUTH_TOKEN = "token"
    assert provider_webhook_secrets_missing(provider="twilio") == []


def test_anymail_providers_need_the_webhook_secret_and_mailgun_a_signing_key(
    settings: Any,
) -> None:
    settings.ANYMAIL = {}
    assert provider_webhook_secrets_missing(provider="postmark") == ["ANYMAIL_WEBHOOK_SECRET"]
    assert provider_webhook_secrets_missing(provider="mailgun") == [
        "ANYMAIL_WEBHOOK_SECRET",
        "MAILGUN_WEBHOOK_SIGNING_KEY",
    ]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "u:p", "MAILGUN_API_KEY": "key"}
    assert provider_webhook_secrets_missing(provider="mailgun") == []


def test_a_provider_without_callbacks_is_refused() -> None:
    with pytest.raises(ValueError, match="no inbound webhook for 'fcm'"):
        provider_webhook_secrets_missing(provider="fcm")
