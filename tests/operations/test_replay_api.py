"""Dead letters over the API: list failed deliveries by what went wrong, replay them by id or
by filter; a replay moves only failed deliveries of the caller's tenant, is recorded, and
replaying again moves nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery, DeliveryAttempt, Replay
from notify.services.access.apikeys import api_key_create
from tests.operations.conftest import client_for, make_failed

URL = "/api/v1/deliveries/"


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {d["id"] for d in response.json()["results"]}


def test_failed_deliveries_are_listed_by_channel_provider_code_and_error_class(
    api: APIClient,
) -> None:
    sms = make_failed(error_code="http_503")[0]
    email = make_failed(channel="email", provider="smtp", error_code="mailbox_full")[0]
    DeliveryAttempt.objects.create(
        delivery=email, number=1, provider="smtp", outcome="permanent", started_at=timezone.now()
    )
    DeliveryAttempt.objects.create(
        delivery=sms, number=5, provider="twilio", outcome="transient", started_at=timezone.now()
    )

    everything = api.get(URL, {"status": "failed"})

    assert _ids(everything) == {str(sms.id), str(email.id)}
    row = next(d for d in everything.json()["results"] if d["id"] == str(sms.id))
    assert row["notification_id"] == str(sms.notification_id)
    assert row["error_code"] == "http_503" and row["provider"] == "twilio"
    assert _ids(api.get(URL, {"status": "failed", "provider": "smtp"})) == {str(email.id)}
    assert _ids(api.get(URL, {"channel": "sms"})) == {str(sms.id)}
    assert _ids(api.get(URL, {"error_code": "mailbox_full"})) == {str(email.id)}
    assert _ids(api.get(URL, {"outcome": "transient"})) == {str(sms.id)}
    assert _ids(api.get(URL, {"outcome": "permanent"})) == {str(email.id)}


def test_replaying_by_id_moves_failed_deliveries_back_to_pending_once(api: APIClient) -> None:
    failed = make_failed(count=3)
    ids = [str(d.id) for d in failed]

    first = api.post(f"{URL}replay/", {"ids": ids}, format="json")
    second = api.post(f"{URL}replay/", {"ids": ids}, format="json")

    assert first.status_code == second.status_code == 202
    assert first.json()["count"] == 3
    assert second.json()["count"] == 0
    rows = Delivery.objects.filter(id__in=ids)
    assert set(rows.values_list("status", flat=True)) == {"pending"}
    # A fresh attempt budget: the five spent plus a full set (NOTIFY_MAX_ATTEMPTS=5).
    assert set(rows.values_list("max_attempts", flat=True)) == {10}
    replays = list(Replay.objects.order_by("created_at"))
    assert [r.count for r in replays] == [3, 0]
    assert [str(r.id) for r in replays] == [first.json()["replay_id"], second.json()["replay_id"]]
    assert replays[0].source == "api"
    assert replays[0].requested_by.startswith("tests (ntf_")
    assert sorted(replays[0].filter["ids"]) == sorted(ids)


def test_replaying_by_filter_moves_only_what_matches(api: APIClient) -> None:
    outage = make_failed(provider="twilio", error_code="http_503", count=2)
    invalid = make_failed(provider="twilio", error_code="21211")[0]
    old = make_failed(provider="twilio", error_code="http_503")[0]
    Delivery.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(hours=1)).isoformat()

    response = api.post(
        f"{URL}replay/",
        {"filter": {"provider": "twilio", "error_code": "http_503", "failed_after": since}},
        format="json",
    )

    assert response.status_code == 202, response.content
    assert response.json()["count"] == 2
    assert {d.pk for d in Delivery.objects.filter(status="pending")} == {d.pk for d in outage}
    assert Delivery.objects.get(pk=invalid.pk).status == "failed"
    assert Delivery.objects.get(pk=old.pk).status == "failed"
    replay = Replay.objects.get()
    assert replay.filter == {"provider": "twilio", "error_code": "http_503", "failed_after": since}


def test_another_tenants_deliveries_are_neither_listed_nor_replayed(
    api: APIClient, other_tenant: tuple[ApiKey, APIClient]
) -> None:
    theirs = make_failed("acme", count=2)
    ours = make_failed()[0]
    _, other = other_tenant

    listed = _ids(api.get(URL, {"status": "failed"}))
    by_id = api.post(f"{URL}replay/", {"ids": [str(d.id) for d in theirs]}, format="json")
    by_filter = api.post(f"{URL}replay/", {"filter": {"provider": "twilio"}}, format="json")

    assert listed == {str(ours.id)}
    assert by_id.json()["count"] == 0
    assert by_filter.json()["count"] == 1
    assert {d.status for d in Delivery.objects.filter(notification__tenant="acme")} == {"failed"}
    assert _ids(other.get(URL, {"status": "failed"})) == {str(d.id) for d in theirs}


def test_a_bad_replay_request_is_a_400_and_changes_nothing(api: APIClient) -> None:
    make_failed(count=2)
    bad = [
        {},
        {"ids": [], "filter": {"provider": "twilio"}},
        {"ids": ["not-a-uuid"]},
        {"ids": [str(uuid.uuid4()) for _ in range(1001)]},
        {"filter": {}},
        {"filter": {"channel": "fax"}},
        {"filter": {"provder": "twilio"}},  # misspelt: must not mean "everything"
        {"filter": {"failed_after": "yesterday"}},
    ]

    answers = [api.post(f"{URL}replay/", body, format="json") for body in bad]

    assert [a.status_code for a in answers] == [400] * len(bad)
    assert all(a.json()["error"] == "validation_error" for a in answers)
    assert "filter.provder" in answers[6].json()["fields"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}
    assert not Replay.objects.exists()
    assert api.get(URL, {"outcome": "sent"}).status_code == 400


def test_dead_letters_need_the_manage_scope(db: Any) -> None:
    _, raw = api_key_create(name="sender", scopes=["send", "read"])
    client = client_for(raw)

    assert client.get(URL).status_code == 403
    replay = client.post(f"{URL}replay/", {"filter": {"channel": "sms"}}, format="json")
    assert replay.status_code == 403
    assert APIClient().get(URL).status_code == 401
