"""The documented production settings pass Django's deployment checklist."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.harness import ROOT


def test_manage_check_deploy_is_clean_for_production_settings() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notify.settings",
        "DEBUG": "0",
        "SECURE_HTTPS": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "notify.example.com",
        "FCM_CREDENTIALS": "/run/secrets/fcm.json",
        "FCM_PROJECT_ID": "acme-prod",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
