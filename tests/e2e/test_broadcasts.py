"""Broadcasts expand in the background through the real worker: to a list, to a topic."""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from notify.models import Broadcast, Delivery
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e


def test_a_broadcast_to_a_list_reaches_each_recipient_once(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    people = [{"id": f"list-{i}", "email": f"list-{i}@example.com"} for i in range(120)]
    people[7] = {"id": "list-7"}  # unreachable: counted, not fatal
    body = api.post(
        "/api/v1/broadcasts/",
        {
            "recipients": people,
            "category": "news",
            "content": {"email": {"subject": "Hi {{ recipient.id }}", "text": "x"}},
        },
        format="json",
    ).json()

    wait_for(
        lambda: Broadcast.objects.get(id=body["id"]).status == "expanded",
        timeout=60,
        what="the broadcast to expand",
    )
    wait_for(
        lambda: (
            Delivery.objects.filter(notification__broadcast_id=body["id"], status="sent").count()
            == 119
        ),
        timeout=60,
        what="every reachable recipient's email to be sent",
    )

    received = Counter(m["to"] for m in sandbox.accepted(provider="smtp"))
    assert len(received) == 119 and set(received.values()) == {1}
    progress = api.get(f"/api/v1/broadcasts/{body['id']}/").json()
    assert progress["expanded"] == 120 and progress["deliveries"] == {"sent": 119}


def test_a_broadcast_to_a_topic_reaches_its_subscribers_only(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    api.post("/api/v1/topics/", {"key": "outages"}, format="json")
    for i in range(5):
        api.put(f"/api/v1/recipients/t-{i}/", {"phone": "+1415555267" + str(i)}, format="json")
        if i != 4:
            api.put(f"/api/v1/topics/outages/subscribers/t-{i}/")

    body = api.post(
        "/api/v1/broadcasts/",
        {"topic": "outages", "content": {"sms": {"text": "We are down, sorry"}}},
        format="json",
    ).json()

    wait_for(
        lambda: len(sandbox.accepted(provider="twilio")) == 4,
        timeout=60,
        what="four subscribers to get the SMS",
    )
    assert body["total"] == 4
    assert "+14155552674" not in {m["to"] for m in sandbox.accepted(provider="twilio")}
