"""The "fallback" strategy's next channel when failures arrive together: two of a
notification's deliveries failing at the same moment (two push devices in two workers' claims,
or a send-time failure racing a provider's report) plan the next channel once."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import connection, transaction

from notify.models import Delivery, Device, Notification, Recipient
from notify.services.accepting.planning import deliveries_fall_back

CONTENT = {"sms": {"text": "t"}, "push": {"title": "t"}}


def test_two_failures_at_once_plan_the_next_channel_once(transactional_db: Any) -> None:
    person = Recipient.objects.create(external_id="fb-race", phone="+14155550803")
    notification = Notification.objects.create(
        recipient=person, content=CONTENT, strategy="fallback", channel_order=["push", "sms"]
    )
    first, second = (
        Delivery.objects.create(
            notification=notification,
            channel="push",
            to=token,
            device=Device.objects.create(recipient=person, token=token),
            status="failed",
            next_attempt_at=notification.created_at,
        )
        for token in ("tok-race-a", "tok-race-b")
    )
    planned = threading.Event()
    added: dict[str, int] = {}

    def fall_back(name: str, delivery: Delivery, hold: bool) -> None:
        try:
            with transaction.atomic():
                added[name] = deliveries_fall_back(failed_ids=[delivery.id])
                if hold:
                    planned.set()
                    time.sleep(0.5)  # the other one tries now, and must wait for this commit
        finally:
            connection.close()

    holder = threading.Thread(target=fall_back, args=("first", first, True))
    holder.start()
    assert planned.wait(10)
    other = threading.Thread(target=fall_back, args=("second", second, False))
    other.start()
    for thread in (holder, other):
        thread.join(20)

    assert added == {"first": 1, "second": 0}
    assert list(notification.deliveries.filter(channel="sms").values_list("to", flat=True)) == [
        "+14155550803"
    ]
