"""Operator actions on deliveries: cancel only what no worker holds."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from notify.models import Delivery
from notify.services.delivering.outcomes import deliveries_record
from notify.services.operations.deliveries import deliveries_cancel
from tests.services import rows


def test_cancel_takes_pending_deliveries_and_leaves_one_a_worker_is_sending(db: Any) -> None:
    notification = rows.notification_for("u-cancel")
    waiting = rows.deliveries(notification, 2)
    token = uuid.uuid4()
    [sending] = rows.deliveries(
        notification,
        1,
        status="sending",
        attempts=1,
        lease_token=token,
        lease_until=timezone.now() + timedelta(minutes=2),
    )
    [failed] = rows.deliveries(notification, 1, status="failed")

    count = deliveries_cancel(delivery_ids=[d.id for d in (*waiting, sending, failed)])

    assert count == 2
    statuses = dict(Delivery.objects.values_list("id", "status"))
    assert statuses == {
        waiting[0].id: "cancelled",
        waiting[1].id: "cancelled",
        sending.id: "sending",
        failed.id: "failed",
    }
    assert Delivery.objects.get(id=waiting[0].id).last_error == "cancelled by an operator"
    # The worker's outcome still lands: the send it made is on record.
    sending.notification = notification
    deliveries_record(
        channel="email", token=token, deliveries=[sending], results=[rows.result(sending)]
    )
    assert Delivery.objects.get(id=sending.id).status == "sent"
