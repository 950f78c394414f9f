"""Broadcasts: stored whole, expanded a chunk at a time into one notification per recipient
(a re-run chunk adds nothing), from a list or a topic's subscribers; cancel stops what has
not been sent; progress counts deliveries by status."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Broadcast, Delivery, Notification, Recipient, Subscription, Topic
from notify.services.access.apikeys import api_key_create
from notify.services.audiences.broadcasts import (
    broadcast_cancel,
    broadcast_create,
    broadcast_expand,
    topic_subscribe,
    topic_unsubscribe,
)
from notify.services.audiences.progress import broadcast_progress

pytestmark = pytest.mark.django_db

MESSAGE = {"content": {"email": {"subject": "Hi", "text": "t"}}}
PEOPLE = [{"id": f"b{i}", "email": f"b{i}@example.com"} for i in range(5)]


@pytest.fixture
def key() -> Any:
    return api_key_create(name="bulk", tenant="acme")[0]


def _recipients(broadcast: Broadcast) -> list[str]:
    rows = Notification.objects.filter(broadcast=broadcast).order_by("recipient__external_id")
    return list(rows.values_list("recipient__external_id", flat=True))


def test_a_broadcast_expands_a_chunk_at_a_time(key: Any, settings: Any) -> None:
    settings.NOTIFY_BROADCAST_CHUNK = 2
    broadcast = broadcast_create(api_key=key, message=MESSAGE, recipients=PEOPLE, topic=None)
    assert (broadcast.total, broadcast.status, broadcast.tenant) == (5, "accepted", "acme")

    assert broadcast_expand(broadcast_id=broadcast.pk) is True
    assert _recipients(broadcast) == ["b0", "b1"]
    assert broadcast_expand(broadcast_id=broadcast.pk) is True
    assert broadcast_expand(broadcast_id=broadcast.pk) is False  # the last chunk

    row = Broadcast.objects.get(pk=broadcast.pk)
    assert (row.expanded, row.status) == (5, "expanded")
    assert _recipients(broadcast) == [p["id"] for p in PEOPLE]
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 5}
    assert broadcast_expand(broadcast_id=broadcast.pk) is False  # done: nothing more


def test_a_chunk_run_again_adds_nobody_twice(key: Any, settings: Any) -> None:
    settings.NOTIFY_BROADCAST_CHUNK = 3
    broadcast = broadcast_create(api_key=key, message=MESSAGE, recipients=PEOPLE, topic=None)
    broadcast_expand(broadcast_id=broadcast.pk)
    # A worker died after sending the chunk but before its progress was seen: run it again.
    Broadcast.objects.filter(pk=broadcast.pk).update(expanded=0)

    broadcast_expand(broadcast_id=broadcast.pk)

    assert Notification.objects.filter(broadcast=broadcast).count() == 3


def test_a_topic_broadcast_reaches_its_subscribers(key: Any) -> None:
    topic = Topic.objects.create(tenant="acme", key="launch")
    people = [Recipient.objects.create(tenant="acme", external_id=f"s{i}") for i in range(3)]
    for person in people:
        topic_subscribe(topic=topic, recipient=person)
    topic_subscribe(topic=topic, recipient=people[0])  # twice: still one subscription
    assert topic_unsubscribe(topic=topic, recipient=people[2]) == 1
    Recipient.objects.filter(pk__in=[p.pk for p in people]).update(email="s@example.com")
    assert Subscription.objects.filter(topic=topic).count() == 2

    broadcast = broadcast_create(api_key=key, message=MESSAGE, recipients=None, topic=topic)
    assert broadcast.total == 2
    broadcast_expand(broadcast_id=broadcast.pk)

    assert _recipients(broadcast) == ["s0", "s1"]


def test_a_topic_broadcast_in_chunks_skips_nobody_when_an_earlier_subscriber_leaves(
    key: Any, settings: Any
) -> None:
    """Each chunk starts after the last subscriber expanded, not at a count of them: one who
    unsubscribes after their chunk moves nobody else out of reach."""
    settings.NOTIFY_BROADCAST_CHUNK = 2
    topic = Topic.objects.create(tenant="acme", key="chunks")
    people = [
        Recipient.objects.create(tenant="acme", external_id=f"c{i}", email=f"c{i}@example.com")
        for i in range(5)
    ]
    for person in people:
        topic_subscribe(topic=topic, recipient=person)
    broadcast = broadcast_create(api_key=key, message=MESSAGE, recipients=None, topic=topic)

    assert broadcast_expand(broadcast_id=broadcast.pk) is True
    topic_unsubscribe(topic=topic, recipient=people[0])
    while broadcast_expand(broadcast_id=broadcast.pk):
        pass

    assert _recipients(broadcast) == ["c0", "c1", "c2", "c3", "c4"]
    assert Broadcast.objects.get(pk=broadcast.pk).status == "expanded"


def test_cancel_stops_expanding_and_cancels_what_was_not_sent(key: Any, settings: Any) -> None:
    settings.NOTIFY_BROADCAST_CHUNK = 2
    broadcast = broadcast_create(api_key=key, message=MESSAGE, recipients=PEOPLE, topic=None)
    broadcast_expand(broadcast_id=broadcast.pk)
    first = Delivery.objects.filter(notification__broadcast=broadcast).order_by("to").first()
    assert first is not None
    Delivery.objects.filter(pk=first.pk).update(status="sent")

    assert broadcast_cancel(broadcast=broadcast) == 1

    assert Broadcast.objects.get(pk=broadcast.pk).status == "cancelled"
    assert broadcast_expand(broadcast_id=broadcast.pk) is False
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"sent": 1, "cancelled": 1}
