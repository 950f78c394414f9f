"""`manage.py check` refuses, in production, a provider whose callbacks cannot be verified."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tests.harness import ROOT

NO_ANYMAIL_SECRET = {**settings.ANYMAIL, "WEBHOOK_SECRET": None}


def _check() -> None:
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


@override_settings(DEBUG=False, ANYMAIL=NO_ANYMAIL_SECRET, EMAIL_PROVIDERS=["smtp", "postmark"])
def test_postmark_in_use_without_a_webhook_secret_is_an_error() -> None:
    with pytest.raises(SystemCheckError, match=r"notify\.E011.*ANYMAIL_WEBHOOK_SECRET"):
        _check()


@override_settings(DEBUG=False, TWILIO_AUTH_TOKEN="")
def test_twilio_in_use_without_its_auth_token_is_an_error() -> None:
    with pytest.raises(SystemCheckError, match=r"notify\.E010.*TWILIO_AUTH_TOKEN"):
        _check()


@override_settings(
    DEBUG=False,
    EMAIL_PROVIDER="mailgun",
    EMAIL_PROVIDERS=["mailgun"],
    ANYMAIL={**settings.ANYMAIL, "MAILGUN_API_KEY": "key-1"},
)
def test_mailgun_with_its_secrets_passes() -> None:
    _check()


@override_settings(
    DEBUG=False,
    EMAIL_PROVIDER="mailgun",
    EMAIL_PROVIDERS=["mailgun"],
    ANYMAIL={**settings.ANYMAIL, "MAILGUN_API_KEY": ""},
)
def test_mailgun_without_a_signing_key_is_an_error() -> None:
    with pytest.raises(SystemCheckError, match=r"notify\.E012.*MAILGUN_WEBHOOK_SIGNING_KEY"):
        _check()


@override_settings(DEBUG=False, ANYMAIL=NO_ANYMAIL_SECRET, EMAIL_PROVIDERS=["smtp"])
def test_an_esp_not_in_use_needs_no_webhook_secret() -> None:
    _check()


@override_settings(DEBUG=True, ANYMAIL=NO_ANYMAIL_SECRET, EMAIL_PROVIDERS=["smtp", "postmark"])
def test_under_debug_a_missing_secret_is_only_a_warning(capsys: Any) -> None:
    call_command("check")

    assert "notify.W011" in capsys.readouterr().err


def test_manage_check_deploy_fails_for_production_settings_without_the_secret() -> None:
    env = {key: value for key, value in os.environ.items() if key != "ANYMAIL_WEBHOOK_SECRET"}
    env.update(
        DJANGO_SETTINGS_MODULE="notify.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        EMAIL_PROVIDER="postmark",
        EMAIL_PROVIDERS="postmark",
        POSTMARK_SERVER_TOKEN="server-token",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "notify.E011" in result.stderr
    assert "ANYMAIL_WEBHOOK_SECRET" in result.stderr
