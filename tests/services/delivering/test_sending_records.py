"""A claim and then its outcome, recorded under the claim's token, against the real Postgres:
a worker whose lease was taken over cannot write, a transient error backs off (and fails on
the last attempt), an ambiguous SMS waits for reconciliation, a dead push token deactivates
its device, and a failed send is logged.

These run inside the test's transaction (`db`), as test_sending.py's do."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery, DeliveryAttempt, Device, Notification, Recipient
from notify.services.delivering.outcomes import SendResult, deliveries_record
from notify.services.delivering.sending import deliveries_claim
from tests.services.rows import deliveries


def _ok(delivery: Delivery, provider_id: str = "<id@notify.local>") -> SendResult:
    return SendResult(
        delivery_id=str(delivery.id),
        provider="smtp",
        provider_message_id=provider_id,
        error=None,
        started_at=timezone.now(),
        duration_ms=5,
    )


def _failed(delivery: Delivery, error: DeliveryError, provider: str = "smtp") -> SendResult:
    return SendResult(
        delivery_id=str(delivery.id),
        provider=provider,
        provider_message_id="",
        error=error,
        started_at=timezone.now(),
        duration_ms=5,
    )


def test_an_outcome_is_written_under_the_claims_token(notification: Notification) -> None:
    deliveries(notification, 1)
    token, [delivery] = deliveries_claim(channel="email", lane="standard", limit=1)

    deliveries_record(
        channel="email",
        token=token,
        deliveries=[delivery],
        results=[_ok(delivery, "<mine@notify.local>")],
    )

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.provider, row.provider_message_id) == (
        "sent",
        "smtp",
        "<mine@notify.local>",
    )
    assert (row.lease_token, row.lease_until) == (None, None)
    assert row.sent_at is not None
    assert list(DeliveryAttempt.objects.filter(delivery=row).values_list("number", "outcome")) == [
        (1, "sent")
    ]


def test_a_worker_whose_lease_was_taken_over_cannot_write_its_outcome(
    notification: Notification,
) -> None:
    deliveries(notification, 1)
    stale_token, [delivery] = deliveries_claim(channel="email", lane="standard", limit=1)
    # The lease ran out and another worker claimed the delivery under its own token.
    new_token = uuid.uuid4()
    Delivery.objects.filter(id=delivery.id).update(lease_token=new_token, attempts=2)

    deliveries_record(
        channel="email",
        token=stale_token,
        deliveries=[delivery],
        results=[_ok(delivery, "<stale@notify.local>")],
    )

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.lease_token, row.attempts) == ("sending", new_token, 2)
    assert (row.provider_message_id, row.sent_at) == ("", None)


def test_a_transient_error_puts_the_delivery_back_in_line_with_backoff(
    notification: Notification,
) -> None:
    deliveries(notification, 1)
    token, [delivery] = deliveries_claim(channel="email", lane="standard", limit=1)
    before = timezone.now()

    deliveries_record(
        channel="email",
        token=token,
        deliveries=[delivery],
        results=[_failed(delivery, DeliveryError("451 try later", code="smtp_451"))],
    )

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.error_code, row.lease_token) == ("pending", "smtp_451", None)
    assert before <= row.next_attempt_at <= timezone.now() + timedelta(seconds=0.2)
    attempt = DeliveryAttempt.objects.get(delivery=row)
    assert (attempt.outcome, attempt.error_code) == ("transient", "smtp_451")


def test_a_transient_error_on_the_last_attempt_fails_the_delivery(
    notification: Notification,
) -> None:
    deliveries(notification, 1, attempts=4)
    token, [delivery] = deliveries_claim(channel="email", lane="standard", limit=1)

    deliveries_record(
        channel="email",
        token=token,
        deliveries=[delivery],
        results=[_failed(delivery, DeliveryError("451 try later", code="smtp_451"))],
    )

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.attempts) == ("failed", 5)
    assert "gave up after 5 attempts" in row.last_error


def test_an_ambiguous_sms_waits_for_reconciliation_but_an_ambiguous_email_is_resent(
    notification: Notification,
) -> None:
    deliveries(notification, 1, channel="sms")
    deliveries(notification, 1)
    sms_token, [sms] = deliveries_claim(channel="sms", lane="standard", limit=1)
    email_token, [email] = deliveries_claim(channel="email", lane="standard", limit=1)
    timeout = DeliveryError("read timeout", ambiguous=True, code="timeout")

    deliveries_record(
        channel="sms", token=sms_token, deliveries=[sms], results=[_failed(sms, timeout, "twilio")]
    )
    deliveries_record(
        channel="email", token=email_token, deliveries=[email], results=[_failed(email, timeout)]
    )

    sms_row, email_row = Delivery.objects.get(id=sms.id), Delivery.objects.get(id=email.id)
    # The SMS stays `sending`, under no worker's lease, until the sweeper asks Twilio.
    assert (sms_row.status, sms_row.error_code) == ("sending", "timeout")
    assert sms_row.lease_token is None and sms_row.lease_until is not None
    assert "checking with the provider" in sms_row.last_error
    assert email_row.status == "pending"
    assert email_row.pinned_provider == "smtp"  # the retry goes where the first try may be


def test_a_dead_push_token_deactivates_the_device(notification: Notification) -> None:
    device = Device.objects.create(recipient=notification.recipient, token="dead-token")
    deliveries(notification, 1, channel="push", device=device)
    token, [delivery] = deliveries_claim(channel="push", lane="standard", limit=1)

    deliveries_record(
        channel="push",
        token=token,
        deliveries=[delivery],
        results=[
            _failed(
                delivery,
                DeliveryError("gone", permanent=True, deactivate_device=True, code="UNREGISTERED"),
                "fcm",
            )
        ],
    )

    assert Delivery.objects.get(id=delivery.id).status == "failed"
    device.refresh_from_db()
    assert device.active is False
    assert device.deactivated_reason


def test_a_failed_send_is_logged_with_its_code_and_message(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    recipient = Recipient.objects.create(external_id="u-log", email="ada@example.com")
    notification = Notification.objects.create(
        recipient=recipient, content={"email": {"subject": "s", "text": "t"}}
    )
    deliveries(notification, 1)
    token, [delivery] = deliveries_claim(channel="email", lane="standard", limit=1)

    with caplog.at_level(logging.WARNING, logger="notify.services.delivering.outcomes"):
        deliveries_record(
            channel="email",
            token=token,
            deliveries=[delivery],
            results=[
                _failed(delivery, DeliveryError("554 rejected", permanent=True, code="smtp_554"))
            ],
        )

    [record] = [r for r in caplog.records if r.name == "notify.services.delivering.outcomes"]
    message = record.getMessage()
    assert str(delivery.id) in message
    assert "smtp_554" in message and "554 rejected" in message
