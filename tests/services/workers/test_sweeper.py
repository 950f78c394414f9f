"""The sweeper: settles deliveries whose lease ran out and rings for due work, against the
real Postgres and Redis (inside the test's transaction, so no worker sees these rows)."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.utils import timezone

from notify.models import Delivery, Notification, Recipient
from notify.models.notifications import Priority
from notify.services.outbox.doorbell import wake_key
from notify.services.workers.sweeper import deliveries_sweep
from notify.signals import deliveries_changed
from tests.harness import Sandbox
from tests.services import rows


def _leased(notification: Any, *, expired: bool, channel: str = "email", **fields: Any) -> Any:
    until = timezone.now() + (timedelta(seconds=-5) if expired else timedelta(minutes=2))
    [delivery] = rows.deliveries(
        notification,
        1,
        channel=channel,
        status="sending",
        lease_token=uuid.uuid4(),
        lease_until=until,
        provider="smtp",
        **fields,
    )
    return delivery


def test_an_expired_lease_puts_the_delivery_back_with_its_provider_pinned(
    db: Any, clean_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    notification = rows.notification_for("u-lost")
    lost = _leased(notification, expired=True, attempts=1)

    with caplog.at_level(logging.WARNING, logger="notify.services.workers.sweeper"):
        report = deliveries_sweep()

    row = Delivery.objects.get(id=lost.id)
    assert (row.status, row.error_code) == ("pending", "worker_lost")
    assert row.last_error == "worker lost during send; retrying"
    assert (row.lease_token, row.lease_until, row.pinned_provider) == (None, None, "smtp")
    assert row.next_attempt_at <= timezone.now()
    assert report.expired == 1
    assert "email/standard" in report.rung
    assert clean_redis.llen(wake_key("email:standard")) >= 1
    [warning] = [
        r.getMessage() for r in caplog.records if r.name == "notify.services.workers.sweeper"
    ]
    assert warning == "sweeper: 1 deliveries had expired leases: [('email', 'pending')]"


def test_an_expired_lease_on_the_last_attempt_fails_the_delivery(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-lost-last")
    lost = _leased(notification, expired=True, attempts=5)

    deliveries_sweep()

    row = Delivery.objects.get(id=lost.id)
    assert (row.status, row.error_code) == ("failed", "worker_lost")
    assert row.last_error == "worker lost during send; attempts exhausted"


def test_a_fallback_notification_whose_last_attempt_was_lost_goes_on_to_its_next_channel(
    db: Any, clean_redis: redis.Redis, django_capture_on_commit_callbacks: Any
) -> None:
    """The worker died on the email's last attempt: as a failure its outcome would have
    recorded, observers hear of it (source "sweeper") and the SMS is planned."""
    person = Recipient.objects.create(
        external_id="u-lost-fb", email="fb@example.com", phone="+14155550803"
    )
    notification = Notification.objects.create(
        recipient=person, content=rows.CONTENT, strategy="fallback", channel_order=["email", "sms"]
    )
    lost = _leased(notification, expired=True, attempts=5)
    heard: list[Any] = []

    def listen(sender: Any, changes: Any, **_: Any) -> None:
        heard.extend(changes)

    deliveries_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):  # events go out after commit
            deliveries_sweep()
    finally:
        deliveries_changed.disconnect(listen)

    planned = notification.deliveries.order_by("channel").values_list("channel", "to", "status")
    assert list(planned) == [("email", lost.to, "failed"), ("sms", "+14155550803", "pending")]
    assert [(c.delivery_id, c.status, c.error_code, c.source) for c in heard] == [
        (str(lost.id), "failed", "worker_lost", "sweeper")
    ]


def test_a_lease_still_in_force_is_left_alone(db: Any, clean_redis: redis.Redis) -> None:
    notification = rows.notification_for("u-busy")
    busy = _leased(notification, expired=False, attempts=1)

    report = deliveries_sweep()

    row = Delivery.objects.get(id=busy.id)
    assert (row.status, row.lease_token) == ("sending", busy.lease_token)
    assert report.expired == 0


def test_the_sweeper_rings_each_lane_with_due_work_and_no_other(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-due")
    rows.deliveries(notification, 1, channel="sms", priority=Priority.LOW, to="+14155550700")
    rows.deliveries(notification, 1, channel="email", priority=Priority.HIGH)
    rows.deliveries(notification, 1, channel="push", due_in=timedelta(minutes=5), to="tok")

    report = deliveries_sweep()

    assert sorted(report.rung) == ["email/standard", "email/urgent", "sms/standard"]
    assert clean_redis.llen(wake_key("sms:standard")) == 1
    assert clean_redis.llen(wake_key("email:urgent")) == 1
    assert clean_redis.llen(wake_key("push:standard")) == 0


def test_an_sms_whose_lease_ran_out_is_reconciled_not_resent_blindly(
    db: Any, clean_redis: redis.Redis, sandbox: Sandbox
) -> None:
    """Twilio (the sandbox) never got it: the reconciliation puts it back in line; the
    expiry that resends email and push leaves SMS alone."""
    notification = rows.notification_for("u-sms-lost")
    lost = _leased(notification, expired=True, channel="sms", attempts=1, to="+14155550710")

    report = deliveries_sweep()

    row = Delivery.objects.get(id=lost.id)
    assert (row.status, row.error_code) == ("pending", "unsent")
    assert (report.reconciled, report.expired) == (1, 0)


def test_the_sweeper_also_publishes_a_drain_task_for_a_stopped_dispatcher(
    db: Any, clean_redis: redis.Redis
) -> None:
    # A channel no worker consumes: the task stays on its queue to be read here.
    clean_redis.delete("nobody")
    notification = rows.notification_for("u-drain")
    rows.deliveries(notification, 1, channel="nobody")

    report = deliveries_sweep()

    assert "nobody/standard" in report.rung
    [task] = [json.loads(raw)["headers"] for raw in clean_redis.lrange("nobody", 0, -1)]
    assert (task["task"], task["argsrepr"]) == ("notify.drain", "['nobody', 'standard']")
