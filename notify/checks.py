"""System checks: warn at start-up about providers that cannot work as configured."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


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
