"""Settings for the test suite: the real ones, pointed at a Redis of the run's own
(tests/redis_server.py), a test database of its own and provider sandbox ports chosen once per
run. Exported through os.environ, so the worker and sandbox processes the tests start see
exactly the same configuration."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from notify.stack.procs import free_port
from tests import redis_server


def _test_redis_url() -> str:
    """Only what the run was told to use, or a server of its own: tests flush their database,
    and a guessed database number on a shared Redis is somebody else's data."""
    if os.environ.get(redis_server.URL_VARIABLE):
        return os.environ[redis_server.URL_VARIABLE]
    if os.environ.get(redis_server.DB_VARIABLE):
        base = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        db = os.environ[redis_server.DB_VARIABLE]
        return urlunsplit((base.scheme, base.netloc, f"/{db}", base.query, ""))
    return redis_server.private_redis_url()


def _test_database_name(name: str) -> str:
    """pytest-django drops and recreates the test database when it exists: a per-run name
    keeps two runs on one Postgres (two checkouts, two people) from dropping each other's."""
    return os.environ.get("NOTIFY_TEST_DATABASE") or f"test_{name}_{os.getpid()}"


_http = os.environ.setdefault("SANDBOX_HTTP_PORT", str(free_port()))
_smtp = os.environ.setdefault("SANDBOX_SMTP_PORT", str(free_port()))
_defaults = {
    "SECRET_KEY": "test-only-secret-key",
    "DEBUG": "0",
    "EMAIL_PROVIDER": "smtp",
    # Failover target: the sandbox's Postmark stand-in.
    "EMAIL_PROVIDERS": "smtp,postmark",
    "POSTMARK_SERVER_TOKEN": "test-postmark-token",
    "POSTMARK_API_URL": f"http://127.0.0.1:{_http}/",
    # Postmark's tracking webhook answers 404 without it (and `manage.py check` errors).
    "ANYMAIL_WEBHOOK_SECRET": "hooks:test-webhook-secret",
    "EMAIL_HOST": "127.0.0.1",
    "EMAIL_PORT": _smtp,
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "test-auth-token",
    "TWILIO_FROM": "+15005550006",
    "TWILIO_BASE_URL": f"http://127.0.0.1:{_http}",
    "FCM_BASE_URL": f"http://127.0.0.1:{_http}",
    "FCM_PROJECT_ID": "notify-test",
    "PROVIDER_TIMEOUT": "2",
    # Short waits so retry scenarios finish in seconds; the policy is the same.
    "NOTIFY_RETRY_BASE_SECONDS": "0.2",
    "NOTIFY_RETRY_MAX_SECONDS": "2",
    "NOTIFY_MAX_ATTEMPTS": "5",
    "NOTIFY_SWEEP_INTERVAL_SECONDS": "1",
    "NOTIFY_RECONCILE_AFTER_SECONDS": "1",
    "NOTIFY_PUBLIC_URL": "http://testserver",
    # Webhook receivers in tests listen on 127.0.0.1; short waits between webhook retries.
    "NOTIFY_WEBHOOKS_ALLOW_PRIVATE": "1",
    "NOTIFY_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "NOTIFY_WEBHOOK_RETRY_MAX_SECONDS": "1",
}
# Forced, not defaulted: a test must never reach a real provider or a developer's Redis. A
# process a test starts inherits these already, plus the overrides the test chose.
if os.environ.get("NOTIFY_TEST_CHILD") != "1":
    # Chosen once, here: every process the run starts inherits the choice (the explicit
    # variable included, so even a child without NOTIFY_TEST_CHILD starts no Redis of its own).
    _redis = _test_redis_url()
    os.environ.update({**_defaults, "REDIS_URL": _redis, redis_server.URL_VARIABLE: _redis})

from notify.settings import *  # noqa: E402, F403

DATABASES["default"]["TEST"] = {"NAME": _test_database_name(DATABASES["default"]["NAME"])}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
