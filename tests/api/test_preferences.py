"""Recipient preferences, categories, quiet hours and frequency caps, as the API shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import Delivery

URL = "/api/v1/notifications/"
PERSON = {"id": "pref-1", "email": "pref@example.com", "phone": "+14155552671"}
CONTENT = {"email": {"subject": "s", "text": "t"}, "sms": {"text": "t"}, "push": {"title": "t"}}


def _send(api: APIClient, **extra: Any) -> dict[str, Any]:
    response = api.post(URL, {"recipient": PERSON, "content": CONTENT, **extra}, format="json")
    assert response.status_code == 202, response.content
    return dict(response.json())


def _by_channel(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["channel"]: d for d in body["deliveries"]}


def test_an_opt_out_skips_that_channel_for_that_category_only(api: APIClient) -> None:
    assert (
        api.post(
            "/api/v1/categories/", {"key": "marketing", "name": "Marketing"}, format="json"
        ).status_code
        == 201
    )
    _send(api)  # creates the recipient
    response = api.put(
        "/api/v1/recipients/pref-1/preferences/",
        {"categories": {"marketing": {"email": False}}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["categories"]["marketing"] == {"email": False, "sms": True, "push": True}

    marketing = _by_channel(_send(api, category="marketing"))
    other = _by_channel(_send(api, category="billing"))

    assert (marketing["email"]["status"], marketing["email"]["error_code"]) == (
        "skipped",
        "opted_out",
    )
    assert "marketing" in marketing["email"]["last_error"]
    assert marketing["sms"]["status"] == "pending"
    assert other["email"]["status"] == "pending"


def test_a_critical_category_ignores_opt_outs(api: APIClient) -> None:
    api.post("/api/v1/categories/", {"key": "security", "critical": True}, format="json")
    _send(api)
    api.put(
        "/api/v1/recipients/pref-1/preferences/",
        {"categories": {"security": {"email": False, "sms": False}}},
        format="json",
    )

    body = _by_channel(_send(api, category="security"))

    assert body["email"]["status"] == body["sms"]["status"] == "pending"


def test_a_category_default_leaves_other_channels_off_until_opted_in(api: APIClient) -> None:
    api.post("/api/v1/categories/", {"key": "digest", "default_channels": ["email"]}, format="json")

    body = _by_channel(_send(api, category="digest"))

    assert body["email"]["status"] == "pending"
    assert body["sms"]["error_code"] == "opted_out"


def test_unknown_categories_and_channels_are_400(api: APIClient) -> None:
    _send(api)
    unknown = api.put(
        "/api/v1/recipients/pref-1/preferences/",
        {"categories": {"nope": {"email": False}}},
        format="json",
    )
    bad_channel = api.put(
        "/api/v1/recipients/pref-1/preferences/",
        {"categories": {"general": {"fax": False}}},
        format="json",
    )

    assert unknown.status_code == bad_channel.status_code == 400


def test_quiet_hours_hold_non_critical_messages_until_they_end(api: APIClient) -> None:
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=2)).strftime("%H:%M")
    response = api.put(
        "/api/v1/recipients/pref-1/",
        {
            "email": "pref@example.com",
            "timezone": "UTC",
            "quiet_hours": {"start": start, "end": end},
        },
        format="json",
    )
    assert response.json()["quiet_hours"] == {"start": start, "end": end}

    normal = _by_channel(_send(api))["email"]
    critical = _by_channel(_send(api, priority="critical"))["email"]

    held = Delivery.objects.get(id=normal["id"])
    assert normal["status"] == "pending" and normal["error_code"] == "quiet_hours"
    assert held.next_attempt_at > now + timedelta(hours=1, minutes=50)
    assert Delivery.objects.get(id=critical["id"]).next_attempt_at < now + timedelta(minutes=1)


@override_settings(NOTIFY_FREQUENCY_CAP="2/h")
def test_the_frequency_cap_skips_non_critical_messages_over_it(api: APIClient) -> None:
    first, second, third = (_by_channel(_send(api))["email"] for _ in range(3))
    critical = _by_channel(_send(api, priority="critical"))["email"]

    assert first["status"] == second["status"] == "pending"
    assert (third["status"], third["error_code"]) == ("skipped", "frequency_cap")
    assert critical["status"] == "pending"


def test_fallback_uses_the_first_channel_that_can_reach_the_person(api: APIClient) -> None:
    body = _send(api, channels=["push", "sms", "email"], strategy="fallback")

    by_channel = _by_channel(body)
    assert body["strategy"] == "fallback"
    assert by_channel["push"]["status"] == "skipped"  # no device: passed over, with why
    assert by_channel["sms"]["status"] == "pending"
    assert "email" not in by_channel  # one message reaches the person, not three
