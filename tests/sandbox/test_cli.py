from __future__ import annotations

import subprocess
import sys

from notify.stack.procs import ROOT

from .helpers import ACCOUNT_SID, running_sandbox


def test_only_smtp_leaves_the_http_providers_off() -> None:
    with running_sandbox("--only", "smtp") as sandbox:
        response = sandbox.api("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")

        assert response.status_code == 404
        assert sandbox.api("POST", "/email", json={}).status_code == 404
        assert sandbox.api("GET", "/_sandbox/health").json()["smtp_port"] == sandbox.smtp_port


def test_only_postmark_serves_email_over_http_alone() -> None:
    with running_sandbox("--only", "postmark") as sandbox:
        body = {"From": "n@example.com", "To": "a@example.com", "Subject": "s", "TextBody": "t"}
        headers = {"X-Postmark-Server-Token": "t"}

        assert sandbox.api("POST", "/email", json=body, headers=headers).status_code == 200
        assert sandbox.api("GET", "/_sandbox/health").json()["smtp_port"] is None
        twilio = sandbox.api("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
        assert twilio.status_code == 404


def test_without_smtp_the_health_check_reports_no_smtp_port() -> None:
    with running_sandbox("--only", "twilio", "fcm", "--latency-ms", "15") as sandbox:
        assert sandbox.api("GET", "/_sandbox/health").json()["smtp_port"] is None
        assert sandbox.api("GET", "/_sandbox/config").json() == {"latency_ms": 15}
        sandbox.set_latency(40)
        sandbox.reset()
        assert sandbox.api("GET", "/_sandbox/config").json() == {"latency_ms": 15}


def test_the_sandbox_imports_neither_django_nor_the_provider_sdks() -> None:
    code = (
        "import sys, notify.sandbox.__main__, notify.sandbox.server;"
        "print(sorted(m for m in ('django', 'twilio', 'firebase_admin') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
