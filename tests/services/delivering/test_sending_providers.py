"""A send through the delivery stream: what it records (an unexpected error, a refused
address, how long the provider took) and what the provider receives (category, priority,
the accepting request's trace) and which provider a claim names."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import redis
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from notify.models import Delivery, DeliveryAttempt, Device
from notify.models.notifications import Priority
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from notify.services.outbox.engine import Claimed
from notify.services.recipients.suppressions import suppressed
from tests.harness import Sandbox
from tests.services import rows


def _run(stream: DeliveryStream, room: int = 10) -> Claimed:
    """One round of the outbox for `stream`: claim, send each item, record the outcomes."""
    claimed = stream.claim(room)
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])
    return claimed


@pytest.mark.parametrize(
    ("fault", "provider", "shown", "exc"),
    [
        # Pinned by a release that had a backend this one lacks (a rollback): the channel
        # looks the backend up and fails with an error it does not translate.
        ("pinned", "sendgrid", "sendgrid", "KeyError: 'sendgrid'"),
        # No email provider configured at all: even the provider's name cannot be found.
        ("no_providers", "", "?", "IndexError: list index out of range"),
    ],
)
def test_an_unexpected_error_from_a_channel_is_retried_and_logged_for_the_operator(
    db: Any,
    sandbox: Sandbox,
    provider_state: redis.Redis,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    provider: str,
    shown: str,
    exc: str,
) -> None:
    from notify.services.delivering.sending import deliveries_send

    notification = rows.notification_for(f"u-unexpected-{fault}")
    pinned: dict[str, Any] = {"pinned_provider": provider} if fault == "pinned" else {}
    [delivery] = rows.deliveries(notification, 1, to="odd-{i}@example.com", **pinned)
    token, claimed = deliveries_claim(channel="email", lane="standard", limit=10)
    if fault == "no_providers":
        settings.EMAIL_PROVIDERS = []

    with caplog.at_level(logging.ERROR, logger="notify.services.delivering.sending"):
        deliveries_send(channel="email", token=token, deliveries=claimed)

    row = Delivery.objects.get(id=delivery.id)
    assert (row.status, row.error_code, row.last_error) == (
        "pending",
        "internal",
        f"unexpected {exc}",
    )
    assert (row.provider, row.provider_message_id) == (provider, "")
    attempt = DeliveryAttempt.objects.get(delivery=row)
    assert (attempt.provider, attempt.outcome, attempt.error_code) == (
        provider,
        "transient",
        "internal",
    )
    assert attempt.provider_message_id == "" and attempt.error_message == f"unexpected {exc}"
    # The traceback goes to the operator, under the provider's name and the delivery's id.
    [record] = [r for r in caplog.records if r.name == "notify.services.delivering.sending"]
    assert record.getMessage() == f"{shown}: unexpected error sending delivery {delivery.id}"
    assert record.exc_info is not None
    assert sandbox.messages() == []


def test_a_refused_address_is_failed_and_suppressed_on_the_streams_channel(
    db: Any, sandbox: Sandbox, provider_state: redis.Redis
) -> None:
    notification = rows.notification_for("u-stream-refused")
    [refused] = rows.deliveries(notification, 1, to="gone@bounce.example")  # the sandbox: 550

    _run(DeliveryStream(channel="email", lane="standard", limit=10))

    row = Delivery.objects.get(id=refused.id)
    assert (row.status, row.error_code, row.provider) == ("failed", "smtp_550", "smtp")
    assert row.provider_message_id == ""  # the provider gave it no id: nothing to track
    assert suppressed(tenant="default", channel="email", addresses=[refused.to]) == {
        refused.to: "bounced"
    }


def test_an_attempt_records_how_long_the_provider_took(
    db: Any, sandbox: Sandbox, provider_state: redis.Redis
) -> None:
    notification = rows.notification_for("u-slow")
    [delivery] = rows.deliveries(notification, 1, to="slow-{i}@example.com")
    sandbox.fault("smtp", "slow", delay_ms=300, times=1)
    stream = DeliveryStream(channel="email", lane="standard", limit=10)
    claimed = stream.claim(10)

    began = time.perf_counter()
    [result] = [stream.send(item) for item in claimed.items]
    elapsed_ms = (time.perf_counter() - began) * 1000
    stream.record([(claimed.token, claimed.items[0], result)])

    attempt = DeliveryAttempt.objects.get(delivery_id=delivery.id)
    assert attempt.outcome == "sent"
    # At least the provider's delay, at most the whole call around it: milliseconds.
    assert 300 <= attempt.duration_ms <= elapsed_ms


def test_what_the_provider_receives_names_the_notification_category_and_priority(
    db: Any, sandbox: Sandbox, provider_state: redis.Redis
) -> None:
    """Postmark gets the category as its tag and our ids as metadata (its webhooks hand
    them back); FCM gets the notification as collapse key and an urgent push as high."""
    from notify.services.delivering.sending import deliveries_send

    notification = rows.notification_for("u-wire", category="billing")
    [email] = rows.deliveries(notification, 1, to="wire-{i}@example.com")
    device = Device.objects.create(recipient=notification.recipient, token="tok-wire")
    [push] = rows.deliveries(
        notification, 1, channel="push", priority=Priority.HIGH, to="tok-wire", device=device
    )
    token, claimed = deliveries_claim(channel="email", lane="standard", limit=10)

    # The baseline sends through the provider it is given (bench/naive.py: the first one).
    deliveries_send(channel="email", token=token, deliveries=claimed, provider="postmark")
    _run(DeliveryStream(channel="push", lane="urgent", limit=10))

    [postmark] = sandbox.accepted(provider="postmark")
    assert postmark["to"] == email.to and postmark["body"]["Tag"] == "billing"
    assert postmark["body"]["Metadata"] == {
        "delivery_id": str(email.id),
        "notification_id": str(notification.id),
    }
    [fcm] = sandbox.accepted(provider="fcm")
    assert fcm["delivery_id"] == str(push.id)
    assert fcm["body"]["android"]["priority"] == "high"
    assert fcm["body"]["android"]["collapse_key"] == str(notification.id)
    assert Delivery.objects.get(id=email.id).provider == "postmark"


def test_a_claim_names_on_the_row_the_provider_its_send_goes_to(
    db: Any, sandbox: Sandbox, provider_state: redis.Redis
) -> None:
    """Written at claim time, so a worker that dies mid-send leaves the row naming the
    provider that may have the message (the sweeper pins the retry to it), not the provider
    of an earlier attempt; a pinned delivery goes to, and names, its pin."""
    notification = rows.notification_for("u-claim-provider")
    earlier, pinned = rows.deliveries(notification, 2, to="cp-{i}@example.com")
    Delivery.objects.filter(id=earlier.id).update(provider="postmark")
    Delivery.objects.filter(id=pinned.id).update(pinned_provider="postmark", provider="smtp")

    claimed = DeliveryStream(channel="email", lane="standard", limit=10).claim(10)

    assert len(claimed.items) == 2
    assert {d.id: (d.status, d.provider) for d in Delivery.objects.all()} == {
        earlier.id: ("sending", "smtp"),
        pinned.id: ("sending", "postmark"),
    }


def test_a_send_continues_the_trace_of_the_request_that_accepted_the_notification(
    db: Any, sandbox: Sandbox, provider_state: redis.Redis, web_spans: InMemorySpanExporter
) -> None:
    trace_id, parent_id = "ab" * 16, "cd" * 8
    notification = rows.notification_for("u-traced", trace_parent=f"00-{trace_id}-{parent_id}-01")
    rows.deliveries(notification, 1, channel="sms", to="+14155550112")

    _run(DeliveryStream(channel="sms", lane="standard", limit=10))

    [call] = [
        s
        for s in web_spans.get_finished_spans()
        if "Messages.json" in str((s.attributes or {}).get("url.full"))
        or "Messages.json" in str((s.attributes or {}).get("http.url"))
    ]
    assert format(call.context.trace_id, "032x") == trace_id
    assert call.parent is not None and format(call.parent.span_id, "016x") == parent_id
