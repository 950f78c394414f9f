"""Set-up for the topic broadcast: a topic with N subscribers (recipients with an email
address and a phone number), written with the app's own models in bulk. This is set-up, not
measurement: subscribing 100,000 people one PUT at a time would take longer than the phase.

Run as `python -m bench.audience KEY N`; prints the seconds it took."""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from bench.payloads import bulk_phone  # noqa: E402
from notify.models.audiences import Subscription, Topic  # noqa: E402
from notify.models.recipients import Recipient  # noqa: E402

_CHUNK = 5000


def subscribe(key: str, n: int) -> None:
    with transaction.atomic():
        topic = Topic.objects.create(tenant="default", key=key, name=f"bench {n}")
        for start in range(0, n, _CHUNK):
            people = Recipient.objects.bulk_create(
                Recipient(
                    tenant="default",
                    external_id=f"{key}-{i}",
                    email=f"{key}-{i}@bench.example",
                    phone=bulk_phone(i),
                )
                for i in range(start, min(n, start + _CHUNK))
            )
            Subscription.objects.bulk_create(
                Subscription(topic=topic, recipient=person) for person in people
            )


if __name__ == "__main__":
    started = time.monotonic()
    subscribe(sys.argv[1], int(sys.argv[2]))
    print(f"{time.monotonic() - started:.1f}")
