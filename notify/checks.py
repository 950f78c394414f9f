"""System checks: warn at start-up about providers that cannot work as configured, and refuse
(in production) providers whose callbacks could not be verified."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from notify.services.webhooks.provider_secrets import (
    provider_webhook_secrets_missing,
    provider_webhooks_in_use,
)

# One id per provider whose webhook secret is missing: notify.E010 (W010 under DEBUG) …
_WEBHOOK_CHECK_IDS = {"twilio": 10, "postmark": 11, "mailgun": 12}


@register()
def providers_configured(app_configs: Any, **kwargs: Any) -> list[Warning]:
    problems = []
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        problems.append(
            Warning(
                "SMS is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.",
                id="notify.W001",
            )
        )
    elif not (settings.TWILIO_FROM or settings.TWILIO_MESSAGING_SERVICE_SID):
        problems.append(
            Warning(
                "SMS has no sender: set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID.",
                id="notify.W002",
            )
        )
    if not (settings.FCM_CREDENTIALS or settings.FCM_BASE_URL):
        problems.append(
            Warning(
                "Push is not configured: set FCM_CREDENTIALS and FCM_PROJECT_ID.", id="notify.W003"
            )
        )
    if settings.EMAIL_PROVIDER == "postmark" and not settings.ANYMAIL["POSTMARK_SERVER_TOKEN"]:
        problems.append(
            Warning("EMAIL_PROVIDER=postmark needs POSTMARK_SERVER_TOKEN.", id="notify.W004")
        )
    if settings.EMAIL_PROVIDER == "mailgun" and not settings.ANYMAIL["MAILGUN_API_KEY"]:
        problems.append(Warning("EMAIL_PROVIDER=mailgun needs MAILGUN_API_KEY.", id="notify.W005"))
    return problems


@register()
def provider_webhooks_secured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A provider in use without its webhook secret has its callbacks refused (404), so its
    bounces, delivery reports and STOP replies are lost: an error unless DEBUG, which stops
    `migrate` and `runserver` too."""
    level = Warning if settings.DEBUG else Error
    problems: list[CheckMessage] = []
    for provider in provider_webhooks_in_use():
        if missing := provider_webhook_secrets_missing(provider=provider):
            number = _WEBHOOK_CHECK_IDS[provider]
            problems.append(
                level(
                    f"{provider} is configured but {' and '.join(missing)} is not set: its "
                    "webhooks answer 404 and its delivery reports are lost.",
                    hint=f"Set {' and '.join(missing)} (docs/deployment.md).",
                    id=f"notify.{'W' if settings.DEBUG else 'E'}{number:03d}",
                )
            )
    return problems
