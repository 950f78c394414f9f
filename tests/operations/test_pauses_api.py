"""Pausing and resuming providers and channels over the API: the state every worker reads is
in Redis at once, and who paused what, when and why is recorded."""

from __future__ import annotations

from typing import Any

import redis
from rest_framework.test import APIClient

from notify.models import Pause
from notify.services.apikeys import api_key_create
from notify.services.pauses import pauses_restore
from notify.services.providers import provider_wait
from notify.services.sending import _choose_provider
from tests.operations.conftest import client_for


def _state(api: APIClient, prefix: str, name: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/{prefix}/")
    assert response.status_code == 200, response.content
    return next(s for s in response.json() if s["name"] == name)


def test_every_provider_and_channel_is_listed_with_its_state(api: APIClient) -> None:
    providers = api.get("/api/v1/providers/").json()
    channels = api.get("/api/v1/channels/").json()

    assert [p["name"] for p in providers] == ["twilio", "fcm", "smtp", "postmark", "mailgun"]
    assert [c["name"] for c in channels] == ["email", "sms", "push"]
    smtp = next(p for p in providers if p["name"] == "smtp")
    assert smtp == {
        "name": "smtp",
        "channels": ["email"],
        "paused": False,
        "pause": None,
        "circuit": "closed",
    }
    assert next(p for p in providers if p["name"] == "mailgun")["channels"] == []
    assert channels[0]["circuit"] is None


def test_a_paused_provider_is_held_back_until_resumed(
    api: APIClient, redis_db: redis.Redis
) -> None:
    paused = api.post(
        "/api/v1/providers/twilio/pause/", {"reason": "Twilio incident"}, format="json"
    )

    assert paused.status_code == 200, paused.content
    body = paused.json()
    assert body["paused"] is True
    assert body["pause"]["reason"] == "Twilio incident"
    assert body["pause"]["paused_by"].startswith("tests (ntf_")
    assert provider_wait(provider="twilio") == float("inf")
    assert _choose_provider("sms") == ("", float("inf"))

    resumed = api.post("/api/v1/providers/twilio/resume/")

    assert resumed.json()["paused"] is False
    assert provider_wait(provider="twilio") == 0
    assert _choose_provider("sms") == ("twilio", 0.0)
    pause = Pause.objects.get()
    assert (pause.kind, pause.target, pause.reason) == ("provider", "twilio", "Twilio incident")
    assert pause.resumed_at is not None and pause.resumed_by.startswith("tests (ntf_")


def test_a_paused_primary_email_provider_fails_over(api: APIClient) -> None:
    api.post("/api/v1/providers/smtp/pause/", {"reason": "maintenance"}, format="json")

    assert _choose_provider("email") == ("postmark", 0.0)


def test_a_paused_channel_sends_through_no_provider(api: APIClient) -> None:
    api.post("/api/v1/channels/push/pause/", {"reason": "bad template shipped"}, format="json")

    assert _state(api, "channels", "push")["paused"] is True
    assert _choose_provider("push") == ("", float("inf"))
    assert _choose_provider("sms") == ("twilio", 0.0)

    api.post("/api/v1/channels/push/resume/")

    assert _choose_provider("push") == ("fcm", 0.0)


def test_pausing_twice_keeps_the_first_pause_and_resuming_twice_is_harmless(
    api: APIClient,
) -> None:
    api.post("/api/v1/channels/sms/pause/", {"reason": "first"}, format="json")
    again = api.post("/api/v1/channels/sms/pause/", {"reason": "second"}, format="json")
    api.post("/api/v1/channels/sms/resume/")
    resumed_again = api.post("/api/v1/channels/sms/resume/")

    assert again.json()["pause"]["reason"] == "first"
    assert resumed_again.status_code == 200
    assert Pause.objects.count() == 1


def test_a_pause_lost_with_redis_is_put_back_from_its_record(
    api: APIClient, redis_db: redis.Redis
) -> None:
    api.post("/api/v1/providers/fcm/pause/", {"reason": "quota"}, format="json")
    redis_db.delete("notify:pause:provider:fcm")  # Redis restarted empty
    assert provider_wait(provider="fcm") == 0

    assert pauses_restore() == 1

    assert provider_wait(provider="fcm") == float("inf")


def test_unknown_names_are_404_and_pausing_needs_the_manage_scope(api: APIClient, db: Any) -> None:
    _, raw = api_key_create(name="reader", scopes=["read"])

    assert api.post("/api/v1/providers/pigeon/pause/").status_code == 404
    assert api.post("/api/v1/channels/fax/resume/").status_code == 404
    assert client_for(raw).post("/api/v1/providers/twilio/pause/").status_code == 403
    assert client_for(raw).get("/api/v1/providers/").status_code == 403
    assert not Pause.objects.exists()
