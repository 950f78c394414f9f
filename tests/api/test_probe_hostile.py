"""Regression tests for defects found by probing the running API as a hostile client
(probe session, 3 Dec 2026). Each test states the request, and what the API should answer:
a 4xx in the API's JSON error shape with nothing stored, never a 500.

These tests FAIL on the code as probed; they pass once the defects are fixed."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import Broadcast, Category, Digest, Notification, Preference
from tests.api.conftest import client_for

EMAIL = {"subject": "Hello", "text": "Hi there."}


@pytest.fixture
def client(api_key: Any) -> APIClient:
    return client_for(api_key[1], lenient=True)


def _assert_4xx_json(response: Any) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str) and isinstance(body.get("detail"), str)
    return body


def _template(client: APIClient, key: str, text: str) -> None:
    response = client.put(
        f"/api/v1/templates/{key}/",
        {"content": {"email": {"subject": "s", "text": text}}},
        format="json",
    )
    assert response.status_code in (200, 201), response.content


# --- 1e400 (valid JSON syntax, overflows to float('inf')) in `data` -------------------------
# json.loads turns 1e400 into inf; strict_constants only refuses the literals NaN/Infinity.
# Where `data` is stored as jsonb (digests, broadcasts), Postgres refuses "Infinity": a 500.
OVERFLOW_DIGEST = (
    b'{"recipient": {"id": "u1", "email": "u1@example.com"}, "template": "t",'
    b' "data": {"x": 1e400}, "digest": {"key": "k", "window": "1h"}}'
)
OVERFLOW_BROADCAST = (
    b'{"recipients": [{"id": "u1", "email": "u1@example.com"}], "template": "t",'
    b' "data": {"x": 1e400}}'
)


@pytest.mark.django_db
def test_overflowing_number_in_digest_data_is_a_400(client: APIClient) -> None:
    _template(client, "t", "{{ x }}")
    response = client.post(
        "/api/v1/notifications/", OVERFLOW_DIGEST, content_type="application/json"
    )
    _assert_4xx_json(response)
    assert not Notification.objects.exists() and not Digest.objects.exists()


@pytest.mark.django_db
def test_overflowing_number_in_broadcast_data_is_a_400(client: APIClient) -> None:
    _template(client, "t", "{{ x }}")
    response = client.post(
        "/api/v1/broadcasts/", OVERFLOW_BROADCAST, content_type="application/json"
    )
    _assert_4xx_json(response)
    assert not Broadcast.objects.exists()


@pytest.mark.django_db
def test_overflowing_number_is_not_rendered_as_inf(client: APIClient) -> None:
    """Without a digest the same body is accepted and the email's subject says 'inf'."""
    _template(client, "t", "{{ x }}")
    response = client.post(
        "/api/v1/notifications/",
        b'{"recipient": {"id": "u1", "email": "u1@example.com"}, "template": "t",'
        b' "data": {"x": 1e400}}',
        content_type="application/json",
    )
    _assert_4xx_json(response)


@pytest.mark.django_db
def test_a_batch_with_an_overflowing_number_is_refused_whole_and_stores_nothing(
    client: APIClient,
) -> None:
    """1e400 is no float (it parsed as infinity, which Postgres refused: a 500 that lost the
    good item too): the body is not valid JSON for the API, so the batch is a 400."""
    _template(client, "t", "{{ x }}")
    body = (
        b'{"notifications": ['
        b'{"recipient": {"id": "u0", "email": "u0@example.com"}, "content": {"email":'
        b' {"subject": "s", "text": "t"}}},'
        b'{"recipient": {"id": "u1", "email": "u1@example.com"}, "template": "t",'
        b' "data": {"x": 1e400}, "digest": {"key": "k", "window": "1m"}}]}'
    )
    response = client.post("/api/v1/notifications/batch/", body, content_type="application/json")
    assert response.status_code == 400
    assert "too large" in _assert_4xx_json(response)["detail"]
    assert not Notification.objects.exists()


# --- send_at near datetime.max and quiet hours in a UTC+14 zone ----------------------------
# policy.quiet_hours_end does now.astimezone(tz) and date + 1 day: OverflowError, a 500 on
# create and a crashed notify.expand_broadcast task (the broadcast stays "accepted").
@pytest.mark.django_db
def test_send_at_at_the_end_of_time_inside_quiet_hours_is_not_a_500(client: APIClient) -> None:
    response = client.put(
        "/api/v1/recipients/uq/",
        {
            "email": "uq@example.com",
            "timezone": "Pacific/Kiritimati",
            "quiet_hours": {"start": "00:00", "end": "23:59"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    response = client.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "uq"},
            "content": {"email": EMAIL},
            "send_at": "9999-12-31T23:59:59Z",
        },
        format="json",
    )
    assert response.status_code < 500, response.content
    if response.status_code != 202:
        _assert_4xx_json(response)
        assert not Notification.objects.exists()


# --- Crafted pagination cursors -------------------------------------------------------------
# DRF's CursorPagination checks only that the cursor is base64 with integer o/r; the position
# p goes to .filter() unchecked, and a ValidationError from the field is a 500.
def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/notifications/", "/api/v1/deliveries/"])
def test_cursor_with_a_bad_position_is_a_4xx(client: APIClient, path: str) -> None:
    response = client.get(path, {"cursor": _cursor("p=not-a-date")})
    _assert_4xx_json(response)


@pytest.mark.django_db
def test_template_versions_cursor_with_a_bad_position_is_a_4xx(client: APIClient) -> None:
    _template(client, "t", "hello")
    response = client.get("/api/v1/templates/t/versions/", {"cursor": _cursor("p=x")})
    _assert_4xx_json(response)


# --- Bad input accepted and persisted -------------------------------------------------------
def client_tenant(client: APIClient) -> str:
    from notify.models import ApiKey

    return ApiKey.objects.get().tenant


@pytest.mark.django_db
@pytest.mark.parametrize(
    "digest",
    [
        {"key": "k", "window": "\u0661\u0660m"},
        {"key": "k", "schedule": "daily@\u0660\u0669:\u0660\u0660"},
    ],
)
def test_digest_rules_take_ascii_digits_only(client: APIClient, digest: dict[str, str]) -> None:
    """rules.py uses \\d, which matches Arabic-Indic digits; the rule is stored as given."""
    _template(client, "t", "{{ x }}")
    response = client.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u1", "email": "u1@example.com"},
            "template": "t",
            "data": {"x": 1},
            "digest": digest,
        },
        format="json",
    )
    _assert_4xx_json(response)


@pytest.mark.django_db
def test_deleting_the_builtin_general_category_is_refused(client: APIClient) -> None:
    """README: 'only general is built in'. DELETE answers 204 and cascades every recipient's
    opt-outs (and digest choices) for uncategorised messages, so people who opted out get
    mail again."""
    response = client.put("/api/v1/recipients/u1/", {"email": "u1@example.com"}, format="json")
    assert response.status_code == 200
    response = client.put(
        "/api/v1/recipients/u1/preferences/",
        {"categories": {"general": {"email": False}}},
        format="json",
    )
    assert response.status_code == 200, response.content
    response = client.delete("/api/v1/categories/general/")
    assert response.status_code >= 400, response.status_code
    assert Category.objects.filter(key="general").exists()
    assert Preference.objects.exists()
