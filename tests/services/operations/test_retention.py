"""Retention: old finished notifications go, with their deliveries and attempts; scheduled,
in-flight and recent ones stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from notify.models import Delivery, DeliveryAttempt, Digest, Notification, Recipient
from notify.services.operations.retention import digests_purge, notifications_purge

OLD = timedelta(days=120)


@pytest.fixture
def person(db: Any) -> Recipient:
    return Recipient.objects.create(external_id="u-retention", email="ada@example.com")


def _notification(person: Recipient, *statuses: str, age: timedelta = OLD, **fields: Any) -> Any:
    """A notification created `age` ago with one delivery (and one attempt) per status."""
    now = timezone.now()
    notification = Notification.objects.create(recipient=person, content={"email": {}})
    for status in statuses:
        delivery = Delivery.objects.create(
            notification=notification,
            channel="email",
            to="ada@example.com",
            status=status,
            next_attempt_at=fields.get("next_attempt_at", now - age),
        )
        DeliveryAttempt.objects.create(
            delivery=delivery, number=1, provider="smtp", outcome="sent", started_at=now - age
        )
    Notification.objects.filter(pk=notification.pk).update(created_at=now - age)
    return notification.pk


def _left() -> tuple[int, int, int]:
    return (
        Notification.objects.count(),
        Delivery.objects.count(),
        DeliveryAttempt.objects.count(),
    )


def test_the_default_retention_is_ninety_days() -> None:
    assert settings.NOTIFY_RETENTION_DAYS == 90


@pytest.mark.parametrize("status", ["sent", "delivered", "failed", "skipped", "cancelled"])
def test_an_old_finished_notification_goes_with_its_deliveries_and_attempts(
    person: Recipient, status: str
) -> None:
    _notification(person, status, "sent")

    deleted = notifications_purge()

    assert deleted == 5  # the notification, two deliveries, two attempts
    assert _left() == (0, 0, 0)


@pytest.mark.parametrize("status", ["pending", "sending"])
def test_an_old_notification_with_unfinished_work_is_kept(person: Recipient, status: str) -> None:
    # A message scheduled far ahead is pending for as long as it waits.
    far_ahead = timezone.now() + timedelta(days=365)
    kept = _notification(person, "sent", status, next_attempt_at=far_ahead)

    assert notifications_purge() == 0

    assert list(Notification.objects.values_list("pk", flat=True)) == [kept]
    assert _left() == (1, 2, 2)


def test_recent_notifications_are_kept(person: Recipient) -> None:
    recent = _notification(person, "sent", age=timedelta(days=89))
    _notification(person, "sent", age=timedelta(days=91))

    assert notifications_purge() == 3

    assert list(Notification.objects.values_list("pk", flat=True)) == [recent]


def test_an_explicit_age_overrides_the_setting(person: Recipient) -> None:
    _notification(person, "failed", age=timedelta(days=10))

    assert notifications_purge(older_than=timedelta(days=30)) == 0
    assert notifications_purge(older_than=timedelta(days=7)) == 3


@override_settings(NOTIFY_RETENTION_DAYS=0)
def test_a_retention_of_zero_days_keeps_everything(person: Recipient) -> None:
    _notification(person, "sent", age=timedelta(days=3650))

    assert notifications_purge() == 0
    assert _left() == (1, 1, 1)


def test_more_than_one_batch_is_purged_in_one_run(person: Recipient) -> None:
    for _ in range(7):
        _notification(person, "delivered")
    kept = _notification(person, "pending")

    assert notifications_purge(batch=3) == 7 * 3

    assert list(Notification.objects.values_list("pk", flat=True)) == [kept]


def test_a_spent_budget_stops_after_one_batch_and_the_next_run_carries_on(
    person: Recipient,
) -> None:
    for _ in range(7):
        _notification(person, "sent")

    assert notifications_purge(batch=3, budget_seconds=0) == 3 * 3
    assert Notification.objects.count() == 4

    assert notifications_purge(batch=3, budget_seconds=0) == 3 * 3
    assert notifications_purge(batch=3, budget_seconds=0) == 1 * 3
    assert _left() == (0, 0, 0)


def test_the_oldest_go_first(person: Recipient) -> None:
    oldest = _notification(person, "sent", age=timedelta(days=300))
    _notification(person, "sent", age=timedelta(days=200))

    notifications_purge(batch=1, budget_seconds=0)

    assert not Notification.objects.filter(pk=oldest).exists()
    assert Notification.objects.count() == 1


def test_recipients_are_left_alone(person: Recipient) -> None:
    _notification(person, "sent")

    notifications_purge()

    assert Recipient.objects.filter(pk=person.pk).exists()


def test_beat_runs_the_purge_hourly_on_the_maintenance_queue() -> None:
    from notify.tasks import hourly

    entries = [
        entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == hourly.name
    ]

    assert entries == [
        {"task": "notify.hourly", "schedule": 3600.0, "options": {"queue": "maintenance"}}
    ]


def _digest(person: Recipient, status: str, *, closed_age: timedelta | None, key: str) -> Any:
    now = timezone.now()
    digest = Digest.objects.create(
        recipient=person,
        key=key,
        rule="daily@09:00",
        template_key="comments",
        status=status,
        flush_at=now - (closed_age or timedelta(0)),
        closed_at=now - closed_age if closed_age is not None else None,
    )
    return digest.pk


def test_old_closed_digests_go_and_open_or_recent_ones_stay(person: Recipient) -> None:
    joined = _notification(person, "skipped")
    old_sent = _digest(person, "sent", closed_age=OLD, key="a")
    Notification.objects.filter(pk=joined).update(digest_id=old_sent)
    _digest(person, "cancelled", closed_age=OLD, key="b")
    _digest(person, "failed", closed_age=OLD, key="c")
    recent = _digest(person, "sent", closed_age=timedelta(days=3), key="d")
    # Open for months (an operator's forgotten schedule): still gathering, never purged.
    still_open = _digest(person, "open", closed_age=None, key="e")

    assert notifications_purge() == 3
    assert digests_purge() == 3

    assert set(Digest.objects.values_list("pk", flat=True)) == {recent, still_open}


def test_a_closed_digest_outlives_its_notifications_only_until_retention(
    person: Recipient,
) -> None:
    # A notification kept (still pending) only loses its link to the purged digest.
    kept = _notification(person, "pending", next_attempt_at=timezone.now() + timedelta(days=9))
    old = _digest(person, "sent", closed_age=OLD, key="a")
    Notification.objects.filter(pk=kept).update(digest_id=old)

    assert digests_purge(batch=1) == 1

    assert Notification.objects.get(pk=kept).digest_id is None


@override_settings(NOTIFY_RETENTION_DAYS=0)
def test_a_retention_of_zero_days_keeps_closed_digests(person: Recipient) -> None:
    _digest(person, "sent", closed_age=timedelta(days=3650), key="a")

    assert digests_purge() == 0
    assert Digest.objects.count() == 1


def test_the_hourly_task_purges_digests_too(person: Recipient) -> None:
    from notify.tasks import hourly

    _digest(person, "sent", closed_age=OLD, key="a")

    assert hourly()["digests"] == 1
