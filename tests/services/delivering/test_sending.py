"""Claiming due deliveries and recording outcomes, against the real Postgres.

These run inside the test's transaction (`db`): the rows are never committed, so a worker
that another test module left running can never see, let alone claim, them."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.utils import timezone
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from channels import DeliveryError
from notify.models import Delivery, DeliveryAttempt, Device, Notification, Recipient
from notify.models.notifications import Priority
from notify.services.delivering.outcomes import SendResult, deliveries_record
from notify.services.delivering.protection import provider_pause
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from notify.services.outbox.engine import Claimed
from notify.services.recipients.suppressions import suppressed, suppression_add
from tests.harness import Sandbox
from tests.services import rows
from tests.services.rows import forget_provider_state


@pytest.fixture
def notification(db: Any) -> Notification:
    recipient = Recipient.objects.create(
        external_id="u-claim", email="ada@example.com", phone="+14155552671"
    )
    return Notification.objects.create(
        recipient=recipient,
        content={
            "email": {"subject": "s", "text": "t"},
            "sms": {"text": "t"},
            "push": {"title": "t"},
        },
    )


def _deliveries(
    notification: Notification,
    count: int,
    *,
    channel: str = "email",
    priority: int = Priority.NORMAL,
    due_in: timedelta = timedelta(seconds=-1),
    **fields: Any,
) -> list[Delivery]:
    now = timezone.now()
    return Delivery.objects.bulk_create(
        [
            Delivery(
                notification=notification,
                channel=channel,
                to=f"{i}@example.com",
                priority=priority,
                next_attempt_at=now + due_in,
                max_attempts=5,
                **fields,
            )
            for i in range(count)
        ]
    )


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


def test_claims_are_exclusive_and_take_at_most_the_limit(notification: Notification) -> None:
    created = {d.id for d in _deliveries(notification, 10)}

    token_a, first = deliveries_claim(channel="email", lane="standard", limit=6)
    token_b, second = deliveries_claim(channel="email", lane="standard", limit=6)
    _, third = deliveries_claim(channel="email", lane="standard", limit=6)

    assert (len(first), len(second), third) == (6, 4, [])
    assert token_a != token_b
    first_ids, second_ids = {d.id for d in first}, {d.id for d in second}
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == created
    for token, ids in ((token_a, first_ids), (token_b, second_ids)):
        rows = Delivery.objects.filter(id__in=ids)
        assert {(r.status, r.attempts, r.lease_token) for r in rows} == {("sending", 1, token)}
        assert all(r.lease_until is not None and r.lease_until > timezone.now() for r in rows)


def test_a_claim_returns_what_a_send_needs(notification: Notification) -> None:
    _deliveries(notification, 1)

    _, [claimed] = deliveries_claim(channel="email", lane="standard", limit=10)

    assert claimed.to == "0@example.com"
    assert claimed.attempts == 1
    assert claimed.notification.content["email"] == {"subject": "s", "text": "t"}


def test_a_claim_leaves_future_other_channel_and_non_pending_work(
    notification: Notification,
) -> None:
    due = _deliveries(notification, 2)
    later = _deliveries(notification, 3, due_in=timedelta(minutes=5))
    sms = _deliveries(notification, 2, channel="sms")
    for status in ("failed", "sent", "cancelled", "skipped", "sending"):
        _deliveries(notification, 1, status=status)

    _, claimed = deliveries_claim(channel="email", lane="standard", limit=100)

    assert {d.id for d in claimed} == {d.id for d in due}
    untouched = Delivery.objects.filter(id__in=[d.id for d in later + sms])
    assert {(d.status, d.attempts, d.lease_token) for d in untouched} == {("pending", 0, None)}


def test_the_urgent_lane_claims_only_critical_and_high(notification: Notification) -> None:
    critical = _deliveries(notification, 1, priority=Priority.CRITICAL)
    high = _deliveries(notification, 1, priority=Priority.HIGH)
    normal = _deliveries(notification, 1, priority=Priority.NORMAL)
    low = _deliveries(notification, 1, priority=Priority.LOW)

    _, urgent = deliveries_claim(channel="email", lane="urgent", limit=100)
    _, standard = deliveries_claim(channel="email", lane="standard", limit=100)

    assert {d.id for d in urgent} == {critical[0].id, high[0].id}
    assert {d.id for d in standard} == {normal[0].id, low[0].id}


def test_the_standard_lane_takes_the_most_urgent_first(notification: Notification) -> None:
    _deliveries(notification, 2, priority=Priority.LOW)
    high = _deliveries(notification, 2, priority=Priority.HIGH)

    _, claimed = deliveries_claim(channel="email", lane="standard", limit=2)

    assert {d.id for d in claimed} == {d.id for d in high}


def test_an_outcome_is_written_under_the_claims_token(notification: Notification) -> None:
    _deliveries(notification, 1)
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
    _deliveries(notification, 1)
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
    _deliveries(notification, 1)
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
    _deliveries(notification, 1, attempts=4)
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
    _deliveries(notification, 1, channel="sms")
    _deliveries(notification, 1)
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
    _deliveries(notification, 1, channel="push", device=device)
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
    _deliveries(notification, 1)
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


def test_concurrent_claims_on_two_connections_never_take_the_same_delivery(
    transactional_db: Any,
) -> None:
    """Two workers claim at the same moment: the second skips the rows the first holds
    (FOR UPDATE SKIP LOCKED) instead of waiting for them and claiming them again."""
    import threading

    from django.db import connection, transaction

    recipient = Recipient.objects.create(external_id="u-race")
    notification = Notification.objects.create(recipient=recipient, content={})
    # A channel no worker serves: a worker another test left running never claims these.
    created = {d.id for d in _deliveries(notification, 10, channel="claim-race")}
    first_holds = threading.Event()
    second_done = threading.Event()
    claimed: dict[str, list[Delivery]] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                claimed["first"] = deliveries_claim(channel="claim-race", lane="standard", limit=5)[
                    1
                ]
                first_holds.set()
                second_done.wait(timeout=2)  # hold the row locks while the second claims
        finally:
            connection.close()

    def second() -> None:
        try:
            first_holds.wait(timeout=5)
            claimed["second"] = deliveries_claim(channel="claim-race", lane="standard", limit=10)[1]
            second_done.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    first_ids = {d.id for d in claimed["first"]}
    second_ids = {d.id for d in claimed["second"]}
    assert len(first_ids) == 5 and len(second_ids) == 5
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == created
    attempts = Delivery.objects.filter(id__in=created).values_list("attempts", flat=True)
    assert set(attempts) == {1}


def test_an_address_suppressed_after_accept_is_skipped_at_send_and_never_reaches_the_provider(
    db: Any, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    """A bounce (or STOP) recorded between the API's accept and the claim: the claim sees it
    and the message is never sent; the other addresses go out as usual."""
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-late-bounce")
    kept, bounced = rows.deliveries(notification, 2, to="late-{i}@example.com")
    suppression_add(
        tenant="default", channel="email", address="LATE-1@example.com", reason="bounced"
    )
    # Another tenant's suppression of the kept address is not this tenant's business.
    suppression_add(tenant="other", channel="email", address=kept.to, reason="bounced")
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    claimed = stream.claim(10)
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])

    skipped, sent = Delivery.objects.get(id=bounced.id), Delivery.objects.get(id=kept.id)
    assert (skipped.status, skipped.error_code) == ("skipped", "suppressed")
    assert (skipped.provider, skipped.provider_message_id, skipped.sent_at) == ("", "", None)
    assert "bounced" in skipped.last_error and skipped.lease_token is None
    assert not DeliveryAttempt.objects.filter(delivery=skipped).exists()
    assert (sent.status, sent.provider) == ("sent", "smtp")
    assert [m["to"] for m in sandbox.messages(provider="smtp")] == [kept.to]


def test_the_claim_matches_suppressions_as_they_are_stored_on_every_channel(
    db: Any, redis_db: redis.Redis
) -> None:
    """The claim looks suppressions up in its own statement: an email address in another
    case, one with non-ASCII letters or stray spaces (checked the Python way) and a phone
    number are all matched the way suppression_add() stored them."""
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-fold")
    upper, accented, spaced, kept = rows.deliveries(notification, 4, to="{i}", max_attempts=3)
    for delivery, to in zip(
        (upper, accented, spaced, kept),
        ("Ada.Upper@Example.COM", "ÉLISE@exemple.fr", " spaced@example.com ", "ok@example.com"),
        strict=True,
    ):
        Delivery.objects.filter(id=delivery.id).update(to=to)
    for address in ("ada.upper@example.com", "élise@exemple.fr", "spaced@example.com"):
        suppression_add(tenant="default", channel="email", address=address, reason="bounced")
    [sms] = rows.deliveries(notification, 1, channel="sms", to="+14155550199")
    suppression_add(tenant="default", channel="sms", address=sms.to, reason="unsubscribed")

    email = DeliveryStream(channel="email", lane="standard", limit=10).claim(10)
    texts = DeliveryStream(channel="sms", lane="standard", limit=10).claim(10)

    known = {item.delivery.to: item.known for item in email.items + texts.items}
    assert known["ok@example.com"] is None
    for to in ("Ada.Upper@Example.COM", "ÉLISE@exemple.fr", " spaced@example.com "):
        assert known[to] is not None and "bounced" in known[to].skipped
    assert known[sms.to] is not None and "unsubscribed" in known[sms.to].skipped
    # What the send needs came with the claim, as the ORM would have loaded it.
    [item] = [i for i in email.items if i.delivery.to == "ok@example.com"]
    assert item.message.content == {"subject": "s", "text": "t"}
    assert item.delivery.attempts == 1 and item.delivery.notification.tenant == "default"


def test_the_one_task_per_delivery_baseline_also_skips_a_late_suppression(
    db: Any, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    from notify.services.delivering.sending import deliveries_send

    forget_provider_state(redis_db)
    notification = rows.notification_for("u-late-stop")
    kept, stopped = rows.deliveries(notification, 2, to="base-{i}@example.com")
    [refused] = rows.deliveries(notification, 1, to="gone@bounce.example")  # the sandbox: 550
    suppression_add(tenant="default", channel="email", address=stopped.to, reason="bounced")
    token, claimed = deliveries_claim(channel="email", lane="standard", limit=10)

    deliveries_send(channel="email", token=token, deliveries=claimed)

    ids = [kept.id, stopped.id, refused.id]
    statuses = dict(Delivery.objects.filter(id__in=ids).values_list("to", "status"))
    assert statuses == {kept.to: "sent", stopped.to: "skipped", refused.to: "failed"}
    # The refusal suppressed the address on its channel, for this tenant.
    assert suppressed(tenant="default", channel="email", addresses=[refused.to]) == {
        refused.to: "bounced"
    }
    [received] = sandbox.accepted(provider="smtp")
    assert received["to"] == kept.to
    assert received["delivery_id"] == str(kept.id)


def test_a_claim_waits_while_the_only_provider_is_paused_and_takes_nothing(
    db: Any, redis_db: redis.Redis
) -> None:
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-paused")
    rows.deliveries(notification, 2, channel="sms", to="+1415555010{i}")
    provider_pause(provider="twilio", seconds=20)
    stream = DeliveryStream(channel="sms", lane="standard", limit=10)

    claimed = stream.claim(10)

    assert claimed.items == [] and 15 < claimed.wait <= 20
    assert set(Delivery.objects.filter(channel="sms").values_list("status", "attempts")) == {
        ("pending", 0)
    }


def test_email_fails_over_to_the_next_provider_while_the_first_is_paused(
    db: Any, redis_db: redis.Redis
) -> None:
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-failover")
    rows.deliveries(notification, 1, to="fo-{i}@example.com")
    provider_pause(provider="smtp", seconds=20)
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    [item] = stream.claim(10).items

    assert item.message.provider == "postmark"
    assert item.message.to == "fo-0@example.com"


# ---- What a send through the stream records, and what the provider receives ----


@pytest.fixture
def provider_state(redis_db: redis.Redis) -> Iterator[redis.Redis]:
    """No pause, circuit or rate bucket from an earlier test, and none left to a later one
    (a tenant's pause or an emptied rate bucket would hold back its sends)."""
    forget_provider_state(redis_db)
    yield redis_db
    forget_provider_state(redis_db)


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


def test_a_notification_without_content_for_the_channel_reaches_the_provider_empty(
    db: Any, sandbox: Sandbox, provider_state: redis.Redis
) -> None:
    """The provider judges an empty message (Twilio: body required), not a crash here."""
    notification = rows.notification_for("u-no-sms-part")
    Notification.objects.filter(id=notification.id).update(content={"email": {"text": "t"}})
    [sms] = rows.deliveries(notification, 1, channel="sms", to="+14155550111")

    _run(DeliveryStream(channel="sms", lane="standard", limit=10))

    row = Delivery.objects.get(id=sms.id)
    assert (row.status, row.error_code, row.provider) == ("failed", "21602", "twilio")
    [received] = sandbox.messages(provider="twilio")
    assert received["to"] == sms.to and received["status"] == 400


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


# ---- Claims: paused tenants, quarantined deliveries, the provider's rate ----


def test_a_tenants_pause_holds_back_its_deliveries_on_every_claim_path(
    db: Any, provider_state: redis.Redis
) -> None:
    from notify.services.operations.pauses import pause_set

    ours = rows.deliveries(rows.notification_for("u-ours"), 2, to="ours-{i}@example.com")
    held = rows.notification_for("u-held", tenant="acme")
    rows.deliveries(held, 2, to="held-{i}@example.com", priority=Priority.HIGH)
    rows.deliveries(held, 1, to="held-lost@example.com", error_code="worker_lost")
    pause_set(kind="channel", target="email", tenant="acme", reason="audit", paused_by="t")
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    [first] = stream.claim(1).items
    _, rest = deliveries_claim(channel="email", lane="standard", limit=10)
    # Only the paused tenant's quarantined delivery is due now: still nothing of theirs.
    assert stream.claim(10).items == []

    assert {first.delivery.id} | {d.id for d in rest} == {d.id for d in ours}
    assert set(Delivery.objects.filter(notification=held).values_list("status", "attempts")) == {
        ("pending", 0)
    }


def test_deliveries_whose_worker_died_are_claimed_one_at_a_time_after_the_others(
    db: Any, provider_state: redis.Redis
) -> None:
    notification = rows.notification_for("u-lost")
    lost = rows.deliveries(notification, 2, to="lost-{i}@example.com", error_code="worker_lost")
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    # The urgent lane does not take normal-priority work, quarantined or not.
    urgent = DeliveryStream(channel="email", lane="urgent", limit=10).claim(10)
    claimed = stream.claim(10)

    assert (urgent.items, urgent.more) == ([], False)
    [item] = claimed.items
    assert item.delivery.id in {d.id for d in lost}
    # One at a time, but the next one is due: claim again without waiting.
    assert (claimed.more, claimed.wait) == (True, 0)
    statuses = Delivery.objects.filter(notification=notification).values_list("status", "attempts")
    assert sorted(statuses) == [("pending", 0), ("sending", 1)]


def test_the_quarantined_claim_takes_only_deliveries_whose_worker_died(
    notification: Notification,
) -> None:
    [lost] = _deliveries(notification, 1, error_code="worker_lost")
    [ordinary] = _deliveries(notification, 1)

    _, quarantined = deliveries_claim(channel="email", lane="standard", limit=10, quarantined=True)
    _, rest = deliveries_claim(channel="email", lane="standard", limit=10)

    assert ([d.id for d in quarantined], [d.id for d in rest]) == ([lost.id], [ordinary.id])


def test_claims_follow_the_providers_rate_and_give_back_what_they_did_not_use(
    db: Any, provider_state: redis.Redis, settings: Any
) -> None:
    """Twilio at 2 messages a second (a bucket of 2): an urgent claim asks for 2, finds one
    message and gives the other token back, which the standard lane then uses; with the
    bucket empty a claim takes nothing, not even work whose worker died, and says how long
    to wait."""
    settings.NOTIFY_RATE_LIMITS = {"twilio": 2}
    notification = rows.notification_for("u-rate")
    rows.deliveries(notification, 1, channel="sms", to="+1415555012{i}", priority=Priority.HIGH)
    rows.deliveries(notification, 3, channel="sms", to="+1415555013{i}")
    [lost] = rows.deliveries(
        notification,
        1,
        channel="sms",
        to="+14155550149",
        priority=Priority.LOW,
        error_code="worker_lost",
    )
    urgent = DeliveryStream(channel="sms", lane="urgent", limit=10)
    standard = DeliveryStream(channel="sms", lane="standard", limit=10)

    first, second, third = urgent.claim(2), standard.claim(2), standard.claim(2)

    assert (len(first.items), first.wait) == (1, 0)
    assert (len(second.items), second.wait) == (1, 0)
    assert third.items == [] and 0 < third.wait <= 0.5
    assert Delivery.objects.get(id=lost.id).attempts == 0


def test_a_claimed_delivery_reads_what_the_claim_did_not_load_from_the_database(
    notification: Notification,
) -> None:
    """The claim loads only what a send needs; any other field is read on first use, as
    the ORM does for .only(), never seen as empty."""
    [created] = _deliveries(notification, 1)

    _, [claimed] = deliveries_claim(channel="email", lane="standard", limit=1)

    assert (claimed.status, claimed.lease_token) == (
        "sending",
        Delivery.objects.get(id=created.id).lease_token,
    )
    assert claimed.created_at == created.created_at
    assert claimed.notification.recipient_id == notification.recipient_id


def test_choosing_a_provider_costs_no_send_and_waits_out_an_operators_pause(
    db: Any, provider_state: redis.Redis, settings: Any
) -> None:
    """_choose_provider (which provider a send may use now; the pauses API tests ask it)
    only looks: the one token of Twilio's bucket is still there for the claim after it."""
    from notify.services.delivering.sending import _choose_provider
    from notify.services.operations.pauses import EVERY_TENANT, pause_set

    settings.NOTIFY_RATE_LIMITS = {"twilio": 1}
    rows.deliveries(rows.notification_for("u-choose"), 1, channel="sms", to="+14155550150")

    assert _choose_provider("sms") == ("twilio", 0.0)
    assert len(DeliveryStream(channel="sms", lane="standard", limit=10).claim(1).items) == 1
    pause_set(kind="channel", target="sms", tenant=EVERY_TENANT, reason="incident", paused_by="t")
    assert _choose_provider("sms") == ("", float("inf"))
