"""Pausing and resuming providers and channels over the API: the state every worker reads is
in Redis at once, and who paused what, when and why is recorded. Pausing for every tenant
(any provider; a channel with scope platform) needs the platform scope; a tenant key pauses
and resumes its own sends on a channel, and sees nothing of another tenant's pauses."""

from __future__ import annotations

from typing import Any

import redis
from rest_framework.test import APIClient

from notify.models import ApiKey, Pause
from notify.services.access.apikeys import api_key_create
from notify.services.delivering.protection import channel_paused, provider_wait, tenants_paused
from notify.services.delivering.sending import _choose_provider
from notify.services.operations.pauses import pauses_restore
from tests.operations.conftest import client_for


def _state(api: APIClient, prefix: str, name: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/{prefix}/")
    assert response.status_code == 200, response.content
    return next(s for s in response.json() if s["name"] == name)


def test_every_provider_and_channel_is_listed_with_its_state(api: APIClient) -> None:
    providers = api.get("/api/v1/providers/").json()
    channels = api.get("/api/v1/channels/").json()

    # In the channel registry's order: each channel's providers, channel by channel.
    assert [p["name"] for p in providers] == ["smtp", "postmark", "mailgun", "twilio", "fcm"]
    assert [c["name"] for c in channels] == ["email", "sms", "push"]
    smtp = next(p for p in providers if p["name"] == "smtp")
    assert smtp == {
        "name": "smtp",
        "channels": ["email"],
        "paused": False,
        "pause": None,
        "platform_paused": False,
        "platform_pause": None,
        "circuit": "closed",
    }
    assert next(p for p in providers if p["name"] == "mailgun")["channels"] == []
    assert channels[0]["circuit"] is None


def test_a_platform_key_pauses_a_provider_for_everyone_until_resumed(
    platform: APIClient, api: APIClient
) -> None:
    paused = platform.post(
        "/api/v1/providers/twilio/pause/", {"reason": "Twilio incident"}, format="json"
    )

    assert paused.status_code == 200, paused.content
    body = paused.json()
    assert (body["paused"], body["platform_paused"], body["pause"]) == (True, True, None)
    assert body["platform_pause"]["reason"] == "Twilio incident"
    assert body["platform_pause"]["paused_by"].startswith("ops (ntf_")
    assert provider_wait(provider="twilio") == float("inf")
    assert _choose_provider("sms") == ("", float("inf"))

    resumed = platform.post("/api/v1/providers/twilio/resume/")

    assert resumed.json()["paused"] is False
    assert provider_wait(provider="twilio") == 0
    assert _choose_provider("sms") == ("twilio", 0.0)
    pause = Pause.objects.get()
    assert (pause.kind, pause.target, pause.tenant) == ("provider", "twilio", "")
    assert pause.resumed_at is not None and pause.resumed_by.startswith("ops (ntf_")


def test_a_tenant_sees_that_everyone_is_paused_but_not_why_or_by_whom(
    platform: APIClient, api: APIClient
) -> None:
    platform.post("/api/v1/providers/twilio/pause/", {"reason": "secret incident"}, format="json")

    listing = api.get("/api/v1/providers/")
    twilio = next(p for p in listing.json() if p["name"] == "twilio")

    assert twilio["paused"] is True and twilio["platform_paused"] is True
    assert twilio["pause"] is None and twilio["platform_pause"] is None
    assert b"secret incident" not in listing.content and b"ops (ntf_" not in listing.content


def test_a_tenant_key_cannot_pause_or_resume_for_everyone(
    api: APIClient, platform: APIClient
) -> None:
    provider = api.post("/api/v1/providers/twilio/pause/", {"reason": "mine"}, format="json")
    channel = api.post(
        "/api/v1/channels/sms/pause/", {"reason": "x", "scope": "platform"}, format="json"
    )

    for refused in (provider, channel):
        assert refused.status_code == 403
        assert refused.json()["error"] == "permission_denied"
        assert "platform scope" in refused.json()["detail"]
    assert not Pause.objects.exists()
    assert provider_wait(provider="twilio") == 0 and not channel_paused(channel="sms")

    platform.post("/api/v1/channels/sms/pause/", {"scope": "platform"}, format="json")
    assert (
        api.post("/api/v1/channels/sms/resume/", {"scope": "platform"}, format="json").status_code
        == 403
    )
    api.post("/api/v1/channels/sms/resume/")  # its own: there is none

    assert channel_paused(channel="sms")
    assert Pause.objects.get().resumed_at is None


def test_a_tenant_pauses_its_own_channel_and_no_one_else(
    api: APIClient, api_key: tuple[ApiKey, str], other_tenant: tuple[ApiKey, APIClient]
) -> None:
    paused = api.post("/api/v1/channels/sms/pause/", {"reason": "our bad copy"}, format="json")

    assert paused.status_code == 200, paused.content
    assert paused.json()["pause"]["reason"] == "our bad copy"
    assert paused.json()["platform_paused"] is False
    assert tenants_paused(channel="sms") == ["default"]
    assert tenants_paused(channel="push") == []
    # Other tenants still send: the channel as a whole is not paused.
    assert not channel_paused(channel="sms")
    assert _choose_provider("sms") == ("twilio", 0.0)
    pause = Pause.objects.get()
    assert (pause.kind, pause.target, pause.tenant) == ("channel", "sms", "default")


def test_another_tenant_neither_sees_nor_resumes_a_tenants_pause(
    api: APIClient, other_tenant: tuple[ApiKey, APIClient]
) -> None:
    _, acme = other_tenant
    api.post("/api/v1/channels/sms/pause/", {"reason": "our bad copy"}, format="json")

    listing = acme.get("/api/v1/channels/")
    resumed = acme.post("/api/v1/channels/sms/resume/")

    sms = next(c for c in listing.json() if c["name"] == "sms")
    assert (sms["paused"], sms["pause"], sms["platform_paused"]) == (False, None, False)
    assert b"our bad copy" not in listing.content and b"tests (ntf_" not in listing.content
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    assert b"our bad copy" not in resumed.content
    assert tenants_paused(channel="sms") == ["default"]
    assert Pause.objects.get().resumed_at is None
    assert _state(api, "channels", "sms")["pause"]["reason"] == "our bad copy"


def test_two_tenants_pause_and_resume_independently(
    api: APIClient, other_tenant: tuple[ApiKey, APIClient]
) -> None:
    _, acme = other_tenant
    api.post("/api/v1/channels/push/pause/", {"reason": "ours"}, format="json")
    acme.post("/api/v1/channels/push/pause/", {"reason": "theirs"}, format="json")
    assert tenants_paused(channel="push") == ["acme", "default"]

    api.post("/api/v1/channels/push/resume/")

    assert tenants_paused(channel="push") == ["acme"]
    assert _state(acme, "channels", "push")["pause"]["reason"] == "theirs"
    assert _state(api, "channels", "push")["paused"] is False


def test_a_provider_is_never_paused_for_one_tenant(platform: APIClient) -> None:
    response = platform.post(
        "/api/v1/providers/fcm/pause/", {"scope": "tenant", "reason": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "scope" in response.json()["fields"]
    assert not Pause.objects.exists()


def test_a_bad_scope_is_a_field_error_and_nothing_is_paused(api: APIClient) -> None:
    response = api.post("/api/v1/channels/sms/pause/", {"scope": "everyone"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["scope"]
    assert not Pause.objects.exists() and tenants_paused(channel="sms") == []


def test_a_platform_key_pauses_a_channel_for_everyone_only_when_it_says_so(
    platform: APIClient,
) -> None:
    platform.post("/api/v1/channels/push/pause/", {"reason": "own"}, format="json")
    assert not channel_paused(channel="push") and tenants_paused(channel="push") == ["ops"]

    platform.post("/api/v1/channels/push/pause/", {"scope": "platform"}, format="json")

    assert channel_paused(channel="push")
    assert _choose_provider("push") == ("", float("inf"))
    assert _choose_provider("sms") == ("twilio", 0.0)
    platform.post("/api/v1/channels/push/resume/", {"scope": "platform"}, format="json")
    assert _choose_provider("push") == ("fcm", 0.0)
    assert tenants_paused(channel="push") == ["ops"]


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


def test_pauses_lost_with_redis_are_put_back_from_their_records(
    platform: APIClient, api: APIClient, redis_db: redis.Redis
) -> None:
    platform.post("/api/v1/providers/fcm/pause/", {"reason": "quota"}, format="json")
    api.post("/api/v1/channels/email/pause/", {"reason": "ours"}, format="json")
    redis_db.delete("notify:pause:provider:fcm", "notify:pause:tenants:email")  # Redis restarted
    assert provider_wait(provider="fcm") == 0 and tenants_paused(channel="email") == []

    assert pauses_restore() == 2

    assert provider_wait(provider="fcm") == float("inf")
    assert tenants_paused(channel="email") == ["default"]
    assert pauses_restore() == 0


def test_unknown_names_are_404_and_pausing_needs_the_manage_scope(api: APIClient, db: Any) -> None:
    _, raw = api_key_create(name="reader", scopes=["read"])
    _, platform_only = api_key_create(name="odd", scopes=["platform"])

    assert api.post("/api/v1/providers/pigeon/pause/").status_code == 404
    assert api.post("/api/v1/channels/fax/resume/").status_code == 404
    assert client_for(raw).post("/api/v1/providers/twilio/pause/").status_code == 403
    assert client_for(raw).get("/api/v1/providers/").status_code == 403
    assert client_for(platform_only).post("/api/v1/providers/twilio/pause/").status_code == 403
    assert not Pause.objects.exists()
