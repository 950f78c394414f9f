"""Which providers call us back, and which secrets their callbacks need. A callback route
whose secret is missing answers 404 rather than trusting anyone (anymail accepts every
caller when WEBHOOK_SECRET is unset; Twilio's and Mailgun's signatures can be made with an
empty key by anyone), and `manage.py check` names what is missing."""

from __future__ import annotations

from django.conf import settings

# The providers whose callbacks Notify accepts, each under its own route.
INBOUND_PROVIDERS = ("twilio", "postmark", "mailgun")


def provider_webhooks_in_use() -> list[str]:
    """The providers configured for sending, so whose callbacks are expected."""
    email = {*settings.EMAIL_PROVIDERS, settings.EMAIL_PROVIDER}
    used = ["twilio"] if settings.TWILIO_ACCOUNT_SID else []
    return used + [name for name in INBOUND_PROVIDERS if name in email]


def provider_webhook_secrets_missing(*, provider: str) -> list[str]:
    """The settings `provider`'s callbacks are verified with that are not set (empty when
    its route may accept callbacks)."""
    if provider not in INBOUND_PROVIDERS:
        raise ValueError(f"no inbound webhook for {provider!r}")
    if provider == "twilio":
        # Twilio signs callbacks with the account's auth token.
        return [] if settings.TWILIO_AUTH_TOKEN else ["TWILIO_AUTH_TOKEN"]
    anymail = settings.ANYMAIL
    missing = [] if anymail.get("WEBHOOK_SECRET") else ["ANYMAIL_WEBHOOK_SECRET"]
    if provider == "mailgun" and not (
        anymail.get("MAILGUN_WEBHOOK_SIGNING_KEY") or anymail.get("MAILGUN_API_KEY")
    ):
        missing.append("MAILGUN_WEBHOOK_SIGNING_KEY")
    return missing
