"""Recording a batch's outcomes: the stored delivery and attempt rows and the change events
announced, an ambiguous SMS left for the sweeper, dead devices, suppressions, and the next
channel of a "fallback" notification."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery, DeliveryAttempt, Device, Suppression
from notify.services.delivering.events import DeliveryChange
from notify.services.delivering.outcomes import SendResult
from notify.signals import deliveries_changed
from tests.services import rows


@pytest.fixture
def seen() -> Iterator[list[DeliveryChange]]:
    """Every change announced to deliveries_changed receivers (webhooks, metrics)."""
    got: list[DeliveryChange] = []

    def keep(sender: Any, *, changes: list[DeliveryChange], **kwargs: Any) -> None:
        got.extend(changes)

    deliveries_changed.connect(keep, dispatch_uid="test-outcomes-seen")
    yield got
    deliveries_changed.disconnect(dispatch_uid="test-outcomes-seen")


def test_each_outcome_is_stored_with_its_attempt_row_and_announced(
    db: Any,
    clean_redis: redis.Redis,
    seen: list[DeliveryChange],
    django_capture_on_commit_callbacks: Any,
) -> None:
    notification = rows.notification_for("u-outcomes")
    token, leased = rows.leased(notification, [{}, {}, {}, {}])
    sent, retry, failed, skipped = leased
    results = [
        rows.result(sent, "twilio"),
        rows.result(retry, "twilio", rows.UNAVAILABLE),
        rows.result(failed, "twilio", rows.INVALID),
        SendResult.skip(str(skipped.id), "address suppressed (bounced)"),
    ]
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        rows.record(token, results, *leased)
    after = timezone.now()

    got = {d.id: d for d in Delivery.objects.filter(notification=notification)}
    columns = {
        d.id: (
            *(d.status, d.attempts, d.provider, d.provider_message_id, d.pinned_provider),
            *(d.error_code, d.last_error, d.lease_token, d.sent_at is not None),
        )
        for d in got.values()
    }
    assert columns == {
        sent.id: ("sent", 1, "twilio", f"<{sent.id}@notify.local>", "", "", "", None, True),
        # A transient failure counts as an attempt (only a 429 is refunded).
        retry.id: (
            "pending",
            1,
            "twilio",
            "",
            "",
            "http_503",
            rows.UNAVAILABLE.message,
            None,
            False,
        ),
        # A permanent error is the provider's word as is: nothing was "given up" on.
        failed.id: ("failed", 1, "twilio", "", "", "21211", "invalid number", None, False),
        skipped.id: ("skipped", 1, "", "", "", "suppressed", results[3].skipped, None, False),
    }
    assert before <= got[retry.id].next_attempt_at <= after + timedelta(seconds=0.2)
    for kept in (sent, failed, skipped):  # only a retry moves the due time
        assert got[kept.id].next_attempt_at == kept.next_attempt_at
    # One attempt row per provider call: none for the skipped send.
    attempts = DeliveryAttempt.objects.filter(delivery__notification=notification)
    assert set(
        attempts.values_list(
            "delivery_id", "number", "provider", "outcome", "error_code", "error_message"
        )
    ) == {
        (sent.id, 1, "twilio", "sent", "", ""),
        (retry.id, 1, "twilio", "transient", "http_503", rows.UNAVAILABLE.message),
        (failed.id, 1, "twilio", "permanent", "21211", "invalid number"),
    }

    def change(d: Delivery, status: str, code: str, outcome: str) -> DeliveryChange:
        return DeliveryChange(
            delivery_id=str(d.id),
            notification_id=str(notification.id),
            channel="sms",
            status=status,
            provider="" if d is skipped else "twilio",
            error_code=code,
            outcome=outcome,
            duration_ms=None if d is skipped else 5,
            accepted_at=notification.created_at,
        )

    assert seen == [
        change(sent, "sent", "", "sent"),
        change(retry, "pending", "http_503", "transient"),
        change(failed, "failed", "21211", "permanent"),
        change(skipped, "skipped", "suppressed", "skipped"),
    ]


def test_an_ambiguous_sms_stays_sending_with_its_provider_until_the_sweeper_asks_twilio(
    db: Any, clean_redis: redis.Redis
) -> None:
    clean_redis.delete("sms")
    token, [lost] = rows.leased(rows.notification_for("u-ambiguous"), [{}])
    before = timezone.now()
    rows.record(
        token, [rows.result(lost, "twilio", DeliveryError("timed out", ambiguous=True))], lost
    )
    after = timezone.now()

    row = Delivery.objects.get(id=lost.id)
    assert (row.status, row.pinned_provider, row.lease_token) == ("sending", "twilio", None)
    assert row.last_error == (
        "timed out — the provider may have accepted it; checking with the provider before any"
        " resend"
    )
    settle = timedelta(seconds=settings.NOTIFY_RECONCILE_AFTER_SECONDS)
    assert row.lease_until is not None
    assert before + settle <= row.lease_until <= after + settle
    # No drain for it (nothing to claim): the sweeper looks it up once the window ends.
    assert clean_redis.llen("sms") == 0


def test_a_dead_push_token_deactivates_its_own_device_only(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-push")
    dead, alive = (
        Device.objects.create(recipient=notification.recipient, token=t)
        for t in ("tok-dead", "tok-alive")
    )
    token, leased = rows.leased(
        notification,
        [{"device": dead, "to": "tok-dead"}, {"device": alive, "to": "tok-alive"}],
        channel="push",
    )
    unregistered = DeliveryError(
        "UNREGISTERED", permanent=True, code="UNREGISTERED", deactivate_device=True
    )
    results = [
        rows.result(leased[0], "fcm", unregistered),
        rows.result(leased[1], "fcm", rows.UNAVAILABLE),
    ]
    rows.record(token, results, *leased, channel="push")

    assert set(Device.objects.values_list("token", "active", "deactivated_reason")) == {
        ("tok-dead", False, "provider reported the token unregistered"),
        ("tok-alive", True, ""),
    }


@pytest.mark.parametrize(
    ("channel", "to", "error", "reason"),
    [
        (
            "sms",
            "+14155550990",
            DeliveryError("STOP", permanent=True, code="21610", suppress=True),
            "unsubscribed",
        ),
        (
            "email",
            "gone@example.com",
            DeliveryError("550 5.1.1", permanent=True, code="550", suppress=True),
            "bounced",
        ),
    ],
    ids=["sms-stop", "email-hard-bounce"],
)
def test_a_suppressing_error_suppresses_the_address_with_the_providers_reason(
    db: Any, clean_redis: redis.Redis, channel: str, to: str, error: DeliveryError, reason: str
) -> None:
    token, leased = rows.leased(rows.notification_for(f"u-{reason}"), [{"to": to}], channel=channel)
    rows.record(token, [rows.result(leased[0], "twilio", error)], *leased, channel=channel)

    assert list(
        Suppression.objects.values_list("tenant", "channel", "address", "reason", "detail")
    ) == [("default", channel, to, reason, error.message)]


def test_a_permanent_failure_moves_a_fallback_notification_on_and_a_retry_does_not(
    db: Any, clean_redis: redis.Redis
) -> None:
    fallback: dict[str, Any] = {"strategy": "fallback", "channel_order": ["sms", "email"]}
    failing = rows.notification_for("u-fallback", **fallback)
    retrying = rows.notification_for("u-fallback-retry", **fallback)
    token, [failed] = rows.leased(failing, [{}])
    _, [retry] = rows.leased(retrying, [{}], token=token)
    rows.record(
        token,
        [
            rows.result(failed, "twilio", rows.INVALID),
            rows.result(retry, "twilio", rows.UNAVAILABLE),
        ],
        failed,
        retry,
    )

    assert set(Delivery.objects.values_list("notification_id", "channel", "status")) == {
        (failing.id, "sms", "failed"),
        (failing.id, "email", "pending"),
        (retrying.id, "sms", "pending"),
    }


def test_results_must_pair_with_the_deliveries_one_for_one(
    db: Any, clean_redis: redis.Redis
) -> None:
    """A lost result must not pass unnoticed (its delivery would wait for its lease to run
    out); recording nothing is no error."""
    token, leased = rows.leased(rows.notification_for("u-pairs"), [{}, {}])

    with pytest.raises(ValueError):
        rows.record(token, [rows.result(leased[0], "twilio")], *leased)
    rows.record(token, [])

    assert set(Delivery.objects.values_list("status", flat=True)) == {"sending"}
