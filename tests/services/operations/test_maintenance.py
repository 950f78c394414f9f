"""Idempotency keys are forgotten after their retention; the notifications stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from notify.models.notifications import Notification
from notify.services.operations.maintenance import idempotency_keys_purge
from tests.services import rows


def test_only_keys_older_than_the_retention_are_forgotten(db: Any, settings: Any) -> None:
    settings.NOTIFY_IDEMPOTENCY_TTL_HOURS = 24
    old = rows.notification_for("u-old", idempotency_key="old")
    recent = rows.notification_for("u-new", idempotency_key="new")
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_keys_purge() == 1

    keys = dict(Notification.objects.values_list("pk", "idempotency_key"))
    assert keys == {old.pk: None, recent.pk: "new"}
    assert idempotency_keys_purge() == 0
