"""A broadcast's delivery counts: per status, current for a broadcast cheap to count, kept
for a while for one that took long to count (so polling it cannot take a core), and current
again at once after a cancel."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Delivery
from notify.services.access.apikeys import api_key_create
from notify.services.audiences.broadcasts import (
    broadcast_cancel,
    broadcast_create,
    broadcast_expand,
)
from notify.services.audiences.progress import broadcast_progress

pytestmark = pytest.mark.django_db

MESSAGE = {"content": {"email": {"subject": "Hi", "text": "t"}}}
PEOPLE = [{"id": f"p{i}", "email": f"p{i}@example.com"} for i in range(4)]


@pytest.fixture
def broadcast(settings: Any) -> Any:
    key = api_key_create(name="progress", tenant="acme")[0]
    made = broadcast_create(api_key=key, message=MESSAGE, recipients=PEOPLE, topic=None)
    broadcast_expand(broadcast_id=made.pk)
    return made


def _send_one(broadcast: Any) -> None:
    first = Delivery.objects.filter(notification__broadcast=broadcast).order_by("id")[0]
    Delivery.objects.filter(pk=first.pk).update(status="sent")


def test_counts_that_are_cheap_to_take_are_always_current(broadcast: Any, settings: Any) -> None:
    settings.NOTIFY_BROADCAST_PROGRESS_KEEP_FROM_SECONDS = 60.0  # never worth keeping
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 4}

    _send_one(broadcast)

    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 3, "sent": 1}


def test_counts_that_took_long_are_kept_and_a_cancel_shows_at_once(
    broadcast: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFY_BROADCAST_PROGRESS_KEEP_FROM_SECONDS = 0.0  # every count "took long"
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 4}

    _send_one(broadcast)
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 4}  # the kept count

    with django_capture_on_commit_callbacks(execute=True):  # the cancel commits
        broadcast_cancel(broadcast=broadcast)
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"sent": 1, "cancelled": 3}


def test_another_broadcast_never_sees_these_counts(broadcast: Any, settings: Any) -> None:
    settings.NOTIFY_BROADCAST_PROGRESS_KEEP_FROM_SECONDS = 0.0
    key = api_key_create(name="other", tenant="other")[0]
    other = broadcast_create(api_key=key, message=MESSAGE, recipients=PEOPLE[:1], topic=None)
    broadcast_expand(broadcast_id=other.pk)

    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 4}
    assert broadcast_progress(broadcast_id=other.pk) == {"pending": 1}
