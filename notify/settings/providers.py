"""Provider configuration. Every override point that points an SDK elsewhere is a setting, so
tests and production share one send path (docs/providers.md)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from channels.email import BACKENDS
from notify.settings.env import env

# Seconds; every provider call has one (twilio and Django SMTP default to none).
PROVIDER_TIMEOUT = env.float("PROVIDER_TIMEOUT", default=10.0)

# --- Email -------------------------------------------------------------------------------
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="smtp")
# The email channel's providers and their Django mail backends (channels/email.py).
EMAIL_BACKENDS = dict(BACKENDS)
if EMAIL_PROVIDER not in EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER must be one of {sorted(EMAIL_BACKENDS)}, not {EMAIL_PROVIDER!r}."
    )
EMAIL_BACKEND = EMAIL_BACKENDS[EMAIL_PROVIDER]
# Failover order: new attempts go to the first provider whose circuit is closed, e.g.
# "smtp,postmark". Defaults to EMAIL_PROVIDER alone.
EMAIL_PROVIDERS = env.list("EMAIL_PROVIDERS", default=[EMAIL_PROVIDER])
for _name in EMAIL_PROVIDERS:
    if _name not in EMAIL_BACKENDS:
        raise ImproperlyConfigured(f"EMAIL_PROVIDERS: unknown provider {_name!r}.")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = PROVIDER_TIMEOUT
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Notify <notify@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

ANYMAIL: dict[str, object] = {
    "REQUESTS_TIMEOUT": (5.0, PROVIDER_TIMEOUT),
    "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN", default=""),
    "MAILGUN_API_KEY": env.str("MAILGUN_API_KEY", default=""),
    "MAILGUN_SENDER_DOMAIN": env.str("MAILGUN_SENDER_DOMAIN", default=""),
    "WEBHOOK_SECRET": env.list("ANYMAIL_WEBHOOK_SECRET", default=[]) or None,
}
for _esp, _default in (
    ("POSTMARK", "https://api.postmarkapp.com/"),
    ("MAILGUN", "https://api.mailgun.net/v3"),
):
    ANYMAIL[f"{_esp}_API_URL"] = env.str(f"{_esp}_API_URL", default=_default)
# Mailgun signs its webhooks with this key (anymail falls back to MAILGUN_API_KEY). Set only
# when given: an empty key present here would be used as-is, and anyone can sign with it.
if _mailgun_signing_key := env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""):
    ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = _mailgun_signing_key

# --- SMS (Twilio) ----------------------------------------------------------------------------
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# When set, every request the twilio SDK makes goes to this base URL instead of twilio.com.
TWILIO_BASE_URL = env.str("TWILIO_BASE_URL", default="")

# --- Inbound webhooks (notify/webhooks) ----------------------------------------------------
# Provider callbacks are small (a few KiB) and reach routes anyone can call: larger bodies
# get 413 before anything reads them.
NOTIFY_WEBHOOK_MAX_BYTES = env.int("NOTIFY_WEBHOOK_MAX_BYTES", default=128 * 1024)

# --- Push (Firebase Cloud Messaging HTTP v1) ----------------------------------------------
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
FCM_CREDENTIALS = env.str("FCM_CREDENTIALS", default="")
# When set, FCM requests go to this base URL; without credentials a static token is used.
FCM_BASE_URL = env.str("FCM_BASE_URL", default="")

# --- Flower ------------------------------------------------------------------------------
FLOWER_USER = env.str("FLOWER_USER", default="admin")
FLOWER_PASSWORD = env.str("FLOWER_PASSWORD", default="")
