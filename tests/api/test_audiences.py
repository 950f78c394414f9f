"""Topics and broadcasts through the API (acceptance; expansion is in tests/e2e)."""

from __future__ import annotations

from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import Broadcast, Notification, Subscription

CONTENT = {"email": {"subject": "Hello {{ recipient.id }}", "text": "hi"}}


def test_subscribing_creates_the_recipient_and_is_idempotent(api: APIClient) -> None:
    assert api.post("/api/v1/topics/", {"key": "release-notes"}, format="json").status_code == 201

    for _ in range(2):
        assert api.put("/api/v1/topics/release-notes/subscribers/u1/").status_code == 204

    assert api.get("/api/v1/topics/release-notes/").json()["subscribers"] == 1
    assert api.delete("/api/v1/topics/release-notes/subscribers/u1/").status_code == 204
    assert not Subscription.objects.exists()
    assert api.put("/api/v1/topics/nope/subscribers/u1/").status_code == 404


def test_a_broadcast_is_accepted_at_once_without_creating_notifications(api: APIClient) -> None:
    people = [{"id": f"b{i}", "email": f"b{i}@example.com"} for i in range(300)]

    response = api.post(
        "/api/v1/broadcasts/", {"recipients": people, "content": CONTENT}, format="json"
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["total"], body["expanded"]) == ("accepted", 300, 0)
    assert Notification.objects.count() == 0  # expanded later, by a worker
    assert api.get(f"/api/v1/broadcasts/{body['id']}/").json()["total"] == 300


@override_settings(NOTIFY_BROADCAST_MAX_RECIPIENTS=10)
def test_too_many_recipients_is_400_and_nothing_is_stored(api: APIClient) -> None:
    people = [{"id": f"b{i}"} for i in range(11)]

    response = api.post(
        "/api/v1/broadcasts/", {"recipients": people, "content": CONTENT}, format="json"
    )

    assert response.status_code == 400
    assert "recipients" in response.json()["fields"]
    assert not Broadcast.objects.exists()


@override_settings(NOTIFY_BROADCAST_MAX_RECIPIENTS=10)
def test_the_size_cap_answers_before_any_recipient_is_validated(api: APIClient) -> None:
    # Eleven invalid entries: the answer is the cap alone, not eleven per-entry errors.
    people = [{"id": f"b{i}", "phone": "12"} for i in range(11)]

    response = api.post(
        "/api/v1/broadcasts/", {"recipients": people, "content": CONTENT}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"recipients": ["At most 10 recipients per broadcast."]}
    assert not Broadcast.objects.exists()


def test_bad_broadcasts_are_400(api: APIClient) -> None:
    neither = api.post("/api/v1/broadcasts/", {"content": CONTENT}, format="json")
    unknown_topic = api.post(
        "/api/v1/broadcasts/", {"topic": "ghosts", "content": CONTENT}, format="json"
    )
    bad_phone = api.post(
        "/api/v1/broadcasts/",
        {"recipients": [{"id": "x", "phone": "12"}], "content": CONTENT},
        format="json",
    )

    assert neither.status_code == unknown_topic.status_code == bad_phone.status_code == 400
    assert not Broadcast.objects.exists()
