"""Test data for the priority phase: N normal-priority pending deliveries (a third per channel,
one notification each), written with the app's own models in bulk, so that columns added to
the models later get their defaults (hand-written INSERTs broke whenever the schema grew).
No doorbell is rung: the sweeper finds the work, as it would after a Redis loss.

Run as `python -m bench.backlog N`; prints the seconds it took."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.payloads import CONTENT  # noqa: E402
from notify.models.notifications import Delivery, Notification, Priority  # noqa: E402
from notify.models.recipients import Recipient  # noqa: E402

_CHUNK = 5000


def insert(n: int) -> None:
    now = timezone.now()
    with transaction.atomic():
        person = Recipient.objects.create(
            tenant="default", external_id="backlog", email="backlog@bench.example"
        )
        for start in range(0, n, _CHUNK):
            count = min(_CHUNK, n - start)
            notes = Notification.objects.bulk_create(
                Notification(
                    tenant="default",
                    recipient=person,
                    category="backlog",
                    priority=Priority.NORMAL,
                    content=CONTENT,
                )
                for _ in range(count)
            )
            Delivery.objects.bulk_create(
                _delivery(note, start + i, now) for i, note in enumerate(notes)
            )


def _delivery(note: Notification, i: int, now: datetime) -> Delivery:
    channel = ("email", "sms", "push")[i % 3]
    to = {
        "email": f"backlog{i}@bench.example",
        "sms": f"+1415555{100 + i % 9900:04d}",
        "push": f"backlog-token-{i}",
    }[channel]
    return Delivery(
        notification=note,
        channel=channel,
        to=to,
        status="pending",
        priority=Priority.NORMAL,
        next_attempt_at=now,
        max_attempts=8,
    )


if __name__ == "__main__":
    started = time.monotonic()
    insert(int(sys.argv[1]))
    print(f"{time.monotonic() - started:.1f}")
