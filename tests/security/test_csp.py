"""Every HTML page Django serves carries the Content-Security-Policy (notify/settings/security.py):
scripts only from Notify itself, no framing, no plugins. Whether the pages still work under it
is checked in Chromium (tests/browser/test_csp.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client


def directives(response: Any) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parsed}


@pytest.mark.parametrize(
    "path",
    ["/admin/login/", "/api/docs/", "/u/not-a-valid-token/"],
)
def test_public_pages_carry_a_strict_policy(db: Any, path: str) -> None:
    response = Client().get(path)

    assert response["Content-Type"].startswith("text/html")
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    # No inline or evaluated script, and no other origin's.
    assert policy["script-src"] == ["'self'"]


def test_staff_pages_carry_the_policy(db: Any) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "x"))

    for path in ("/admin/", "/admin/notify/notification/", "/admin/dashboard/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert directives(response)["script-src"] == ["'self'"], path


def test_swagger_ui_loads_its_init_script_from_a_url_not_inline(db: Any) -> None:
    page = Client().get("/api/docs/").content.decode()
    script = Client().get("/api/docs/?script=")

    assert "<script>" not in page
    assert '<script src="/api/docs/?script="' in page
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
