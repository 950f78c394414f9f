"""The admin login locks a username+address out after repeated wrong passwords (django-axes),
and nothing of it reaches the API's Bearer authentication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.test import APIClient

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "right-horse-battery-staple"


@pytest.fixture
def operator(db: Any) -> User:
    return User.objects.create_superuser("ops", "ops@example.com", PASSWORD)


def log_in(client: Client, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": "ops", "password": password}, **extra)


def fail_until_locked(client: Client, **extra: Any) -> list[int]:
    return [
        log_in(client, "wrong", **extra).status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]


def test_after_the_limit_the_right_password_is_refused_with_the_lockout_page(
    operator: User,
) -> None:
    client = Client()

    statuses = fail_until_locked(client)
    refused = log_in(client, PASSWORD)

    # The form answers 200 with an error until the limit; the limit-th failure locks.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")
    page = refused.content.decode()
    assert "Too many failed logins" in page
    assert "refused for 15 minutes" in page
    # Not logged in: the admin still sends this client to the login page.
    assert client.get("/admin/").status_code == 302


def test_a_right_password_before_the_limit_logs_in_and_starts_the_count_again(
    operator: User,
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")

    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    # The success reset the count: as many failures again before a lockout.
    assert fail_until_locked(client) == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


def test_the_lockout_is_per_username_and_address(operator: User) -> None:
    fail_until_locked(Client())

    here = log_in(Client(), PASSWORD)
    elsewhere = log_in(Client(), PASSWORD, REMOTE_ADDR="198.51.100.7")

    assert here.status_code == 429
    assert elsewhere.status_code == 302
    assert elsewhere["Location"] == "/admin/"


def test_the_right_password_works_again_after_the_cool_off(operator: User) -> None:
    client = Client()
    fail_until_locked(client)
    assert log_in(client, PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    assert log_in(client, PASSWORD).status_code == 302


def test_an_xhr_login_is_locked_out_with_html_and_no_cross_origin_grant(operator: User) -> None:
    client = Client(headers={"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"})

    fail_until_locked(client)
    refused = log_in(client, PASSWORD)

    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")
    assert "Access-Control-Allow-Origin" not in refused


@override_settings(NOTIFY_PROXY_COUNT=1)
def test_behind_a_proxy_the_address_the_proxy_saw_counts_not_what_the_client_wrote(
    operator: User,
) -> None:
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for forged in range(settings.AXES_FAILURE_LIMIT):
        # The client writes a new address each time; the proxy appends the real one.
        log_in(
            Client(), "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{forged}, 203.0.113.9", **via_proxy
        )

    locked = log_in(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)
    other_client = log_in(Client(), PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10", **via_proxy)

    assert locked.status_code == 429
    assert other_client.status_code == 302
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"


def test_bearer_auth_is_not_counted_and_still_works_during_an_admin_lockout(
    operator: User, api: APIClient
) -> None:
    stranger = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT * 2):
        stranger.credentials(HTTP_AUTHORIZATION="Bearer nf_not-a-real-key")
        assert stranger.get("/api/v1/notifications/").status_code == 401
    fail_until_locked(Client())

    assert api.get("/api/v1/notifications/").status_code == 200
    # Only the admin login was counted.
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["ops"]
