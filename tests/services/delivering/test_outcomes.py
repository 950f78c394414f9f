"""Recording a batch's outcomes: the stored delivery and attempt rows, the change events, the
retry policy (exponential backoff with full jitter, a provider's Retry-After) and the delayed
drain that brings a retry back, provider protection (a 429's two halves, the breaker's policy),
dead devices, suppressions and the next channel of a "fallback" notification."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery, DeliveryAttempt, Device, Notification, Suppression
from notify.services.delivering.events import DeliveryChange
from notify.services.delivering.outcomes import SendResult, deliveries_record, retry_delay
from notify.services.delivering.protection import breaker_state
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from notify.signals import deliveries_changed
from tests.services import rows
from tests.services.rows import forget_provider_state

DRAWS = 400


def test_the_test_settings_are_the_ones_these_tests_assume() -> None:
    assert settings.NOTIFY_RETRY_BASE_SECONDS == 0.2
    assert settings.NOTIFY_RETRY_MAX_SECONDS == 2.0
    assert (settings.NOTIFY_BREAKER_MIN_CALLS, settings.NOTIFY_BREAKER_FAILURE_RATE) == (10, 0.5)
    assert settings.NOTIFY_RECONCILE_AFTER_SECONDS == 1


@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 5, 8, 30])
def test_the_delay_stays_within_zero_and_the_capped_exponential_ceiling(attempts: int) -> None:
    ceiling = min(2.0, 0.2 * 2 ** (attempts - 1))

    delays = [retry_delay(attempts=attempts, retry_after=None) for _ in range(DRAWS)]

    assert all(0 <= d <= ceiling for d in delays)
    # Full jitter: spread over the range, not a fixed wait.
    assert len(set(delays)) > DRAWS // 2
    assert min(delays) < ceiling / 4 and max(delays) > ceiling * 3 / 4


def test_a_retry_after_beyond_the_maximum_is_capped_at_the_maximum() -> None:
    delays = {retry_delay(attempts=a, retry_after=7) for a in (1, 3, 10) for _ in range(DRAWS)}

    assert delays == {2.0}


def test_a_retry_after_is_never_undercut() -> None:
    with override_settings(NOTIFY_RETRY_MAX_SECONDS=60.0):
        short = [retry_delay(attempts=1, retry_after=7) for _ in range(DRAWS)]
        long = [retry_delay(attempts=12, retry_after=7) for _ in range(DRAWS)]

    assert set(short) == {7.0}  # the backoff ceiling (0.2 s) is below what was asked
    assert all(7.0 <= d <= 60.0 for d in long)
    assert len(set(long)) > 1


def test_a_retry_after_of_zero_changes_nothing() -> None:
    delays = [retry_delay(attempts=3, retry_after=0) for _ in range(DRAWS)]

    assert all(0 <= d <= 0.8 for d in delays)


# --- provider protection: the 429 path and the breaker -----------------------------------


@pytest.fixture
def clean_redis(redis_db: redis.Redis) -> redis.Redis:
    forget_provider_state(redis_db)
    return redis_db


def _record_sms(count: int, error: DeliveryError | None, name: str) -> list[Delivery]:
    """Claim `count` due SMS deliveries and record the same result for each."""
    notification = rows.notification_for(name)
    rows.deliveries(notification, count, channel="sms", to="+1415555020{i}")
    token, claimed = deliveries_claim(channel="sms", lane="standard", limit=count)
    deliveries_record(
        channel="sms",
        token=token,
        deliveries=claimed,
        results=[rows.result(d, "twilio", error) for d in claimed],
    )
    return claimed


def _throttled(retry_after: float | None) -> DeliveryError:
    return DeliveryError(
        "429 Too Many Requests", code="http_429", retry_after=retry_after, throttled=True
    )


def test_a_429_pauses_the_provider_so_no_other_delivery_is_claimed(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-429-others")
    others = rows.deliveries(notification, 3, channel="sms", to="+1415555030{i}")
    _record_sms(1, _throttled(30), "u-429")
    stream = DeliveryStream(channel="sms", lane="standard", limit=10)

    claimed = stream.claim(10)

    assert claimed.items == []
    assert 25 < claimed.wait <= 30
    untouched = Delivery.objects.filter(id__in=[d.id for d in others])
    assert set(untouched.values_list("status", "attempts")) == {("pending", 0)}


def test_a_429_holds_the_throttled_delivery_itself_until_its_retry_after(
    db: Any, clean_redis: redis.Redis
) -> None:
    """Without the provider's pause (it expired early, or Redis lost it), the throttled
    delivery still waits as asked, and the refused attempt is not counted against it."""
    before = timezone.now()
    [throttled] = _record_sms(1, _throttled(30), "u-429-self")
    clean_redis.delete("notify:pause:twilio")

    row = Delivery.objects.get(id=throttled.id)
    assert (row.status, row.attempts, row.error_code) == ("pending", 0, "http_429")
    assert before + timedelta(seconds=29) <= row.next_attempt_at
    assert row.next_attempt_at <= timezone.now() + timedelta(seconds=31)
    assert deliveries_claim(channel="sms", lane="standard", limit=10)[1] == []
    [attempt] = DeliveryAttempt.objects.filter(delivery=row)
    assert (attempt.outcome, attempt.error_code) == ("transient", "http_429")


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (DeliveryError("invalid number", permanent=True, code="21211"), "closed"),
        (DeliveryError("503 from Twilio", code="http_503"), "open"),
        (DeliveryError("bad credentials", config=True, code="20003"), "open"),
    ],
    ids=["permanent-errors-are-about-the-message", "transient", "config"],
)
def test_the_breaker_counts_provider_failures_but_not_permanent_message_errors(
    db: Any, clean_redis: redis.Redis, error: DeliveryError, state: str
) -> None:
    _record_sms(settings.NOTIFY_BREAKER_MIN_CALLS, error, f"u-breaker-{state}-{error.code}")
    notification = rows.notification_for(f"u-after-{error.code}")
    rows.deliveries(notification, 1, channel="sms", to="+14155550400")

    claimed = DeliveryStream(channel="sms", lane="standard", limit=10).claim(10)

    assert breaker_state(provider="twilio") == state
    assert len(claimed.items) == (1 if state == "closed" else 0)


def test_successes_keep_the_breaker_closed(db: Any, clean_redis: redis.Redis) -> None:
    _record_sms(settings.NOTIFY_BREAKER_MIN_CALLS, None, "u-breaker-ok")

    assert breaker_state(provider="twilio") == "closed"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_config_error_is_logged_as_an_error_naming_channel_and_delivery(
    db: Any, clean_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Credentials are wrong: someone has to act, so it is an ERROR, not a warning."""
    with caplog.at_level(logging.WARNING, logger="notify.services.delivering.outcomes"):
        [delivery] = _record_sms(
            1, DeliveryError("bad credentials", config=True, code="20003"), "u-cfg"
        )

    [record] = [r for r in caplog.records if r.name == "notify.services.delivering.outcomes"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        f"sms: delivery {delivery.id} attempt 1 config → failed (20003): bad credentials"
    )


def test_a_provider_failure_is_logged_as_a_warning(
    db: Any, clean_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="notify.services.delivering.outcomes"):
        [delivery] = _record_sms(1, DeliveryError("503", code="http_503"), "u-503")

    [record] = [r for r in caplog.records if r.name == "notify.services.delivering.outcomes"]
    assert record.levelno == logging.WARNING
    assert (
        record.getMessage()
        == f"sms: delivery {delivery.id} attempt 1 transient → pending (http_503): 503"
    )


# --- what is stored and announced -------------------------------------------------------

UNAVAILABLE = DeliveryError("503 Service Unavailable", code="http_503")
INVALID = DeliveryError("invalid number", permanent=True, code="21211")


def _leased(
    notification: Notification,
    specs: list[dict[str, Any]],
    *,
    channel: str = "sms",
    token: uuid.UUID | None = None,
) -> tuple[uuid.UUID, list[Delivery]]:
    """Deliveries as a claim leaves them (`sending` under one token, the attempt counted):
    one per spec, each spec's fields over those defaults."""
    token = token or uuid.uuid4()
    leased = []
    for i, spec in enumerate(specs):
        fields = {"attempts": 1, "to": f"+141555509{i:02d}", **spec}
        leased += rows.deliveries(
            notification,
            1,
            channel=channel,
            status="sending",
            lease_token=token,
            lease_until=timezone.now() + timedelta(minutes=1),
            **fields,
        )
    return token, leased


def _record(token: uuid.UUID, results: list[SendResult], *leased: Delivery, **kw: Any) -> None:
    deliveries_record(
        channel=kw.get("channel", "sms"), token=token, deliveries=list(leased), results=results
    )


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
    token, leased = _leased(notification, [{}, {}, {}, {}])
    sent, retry, failed, skipped = leased
    results = [
        rows.result(sent, "twilio"),
        rows.result(retry, "twilio", UNAVAILABLE),
        rows.result(failed, "twilio", INVALID),
        SendResult.skip(str(skipped.id), "address suppressed (bounced)"),
    ]
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        _record(token, results, *leased)
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
        retry.id: ("pending", 1, "twilio", "", "", "http_503", UNAVAILABLE.message, None, False),
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
        (retry.id, 1, "twilio", "transient", "http_503", UNAVAILABLE.message),
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
    token, [lost] = _leased(rows.notification_for("u-ambiguous"), [{}])
    before = timezone.now()
    _record(token, [rows.result(lost, "twilio", DeliveryError("timed out", ambiguous=True))], lost)
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


@pytest.mark.parametrize(
    ("error", "low", "high"),
    [
        (UNAVAILABLE, 0.0, 0.2),  # a first attempt's backoff: full jitter up to the base
        (DeliveryError("503", code="http_503", retry_after=1.5), 1.5, 1.5),  # as asked
        (_throttled(0.01), 0.05, 0.05),  # a 429 never comes back at once
        (_throttled(None), 1.0, 1.0),  # a 429 without Retry-After waits a second
    ],
    ids=["backoff", "retry-after", "throttled-floor", "throttled-default"],
)
@override_settings(NOTIFY_MAX_COUNTDOWN_SECONDS=1.0)
def test_a_retry_is_due_after_its_delay_and_a_drain_task_wakes_its_lane_then(
    db: Any, clean_redis: redis.Redis, error: DeliveryError, low: float, high: float
) -> None:
    """Channel "nobody" has no worker: the drain task stays on its queue to be read here.
    Waits beyond NOTIFY_MAX_COUNTDOWN_SECONDS (1 s here) are left to the sweeper."""
    clean_redis.delete("nobody")
    token, [due] = _leased(rows.notification_for("u-retry"), [{}], channel="nobody")
    before = timezone.now()
    _record(token, [rows.result(due, "twilio", error)], due, channel="nobody")
    after = timezone.now()

    row = Delivery.objects.get(id=due.id)
    assert row.status == "pending"
    assert before + timedelta(seconds=low) <= row.next_attempt_at
    assert row.next_attempt_at <= after + timedelta(seconds=high)
    drains = [json.loads(raw)["headers"] for raw in clean_redis.lrange("nobody", 0, -1)]
    if high > settings.NOTIFY_MAX_COUNTDOWN_SECONDS:
        assert drains == []
        return
    [drain] = drains
    assert (drain["task"], drain["argsrepr"]) == ("notify.drain", "['nobody', 'standard']")
    # Just after the retry is due (never before: the claim would find nothing).
    eta = datetime.fromisoformat(drain["eta"])
    assert row.next_attempt_at + timedelta(seconds=0.05) <= eta
    assert eta <= row.next_attempt_at + timedelta(seconds=0.55)


@pytest.mark.parametrize(
    ("failures", "successes"),
    [(9, 0), (4, 6)],
    ids=["fewer-calls-than-the-minimum", "below-the-failure-rate"],
)
def test_the_breaker_stays_closed_below_its_thresholds(
    db: Any, clean_redis: redis.Redis, failures: int, successes: int
) -> None:
    notification = rows.notification_for(f"u-breaker-{failures}-{successes}")
    token, leased = _leased(notification, [{}] * (failures + successes))
    errors = [UNAVAILABLE] * failures + [None] * successes
    _record(
        token, [rows.result(d, "twilio", e) for d, e in zip(leased, errors, strict=True)], *leased
    )

    assert breaker_state(provider="twilio") == "closed"


def test_a_skipped_send_or_a_429_in_a_batch_does_not_stop_the_rest_being_counted(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-batch-order")
    token, leased = _leased(notification, [{}] * 12)
    skipped, throttled, *failing = leased
    results = [
        SendResult.skip(str(skipped.id), "address suppressed (bounced)"),
        rows.result(throttled, "twilio", _throttled(None)),
        *[rows.result(d, "twilio", UNAVAILABLE) for d in failing],
    ]
    _record(token, results, *leased)

    # Paused for the default second (no Retry-After), and the 10 failures open the circuit.
    assert 0 < clean_redis.pttl("notify:pause:twilio") <= 1000
    assert breaker_state(provider="twilio") == "open"


def test_a_dead_push_token_deactivates_its_own_device_only(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-push")
    dead, alive = (
        Device.objects.create(recipient=notification.recipient, token=t)
        for t in ("tok-dead", "tok-alive")
    )
    token, leased = _leased(
        notification,
        [{"device": dead, "to": "tok-dead"}, {"device": alive, "to": "tok-alive"}],
        channel="push",
    )
    unregistered = DeliveryError(
        "UNREGISTERED", permanent=True, code="UNREGISTERED", deactivate_device=True
    )
    results = [
        rows.result(leased[0], "fcm", unregistered),
        rows.result(leased[1], "fcm", UNAVAILABLE),
    ]
    _record(token, results, *leased, channel="push")

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
    token, leased = _leased(rows.notification_for(f"u-{reason}"), [{"to": to}], channel=channel)
    _record(token, [rows.result(leased[0], "twilio", error)], *leased, channel=channel)

    assert list(
        Suppression.objects.values_list("tenant", "channel", "address", "reason", "detail")
    ) == [("default", channel, to, reason, error.message)]


def test_a_permanent_failure_moves_a_fallback_notification_on_and_a_retry_does_not(
    db: Any, clean_redis: redis.Redis
) -> None:
    fallback: dict[str, Any] = {"strategy": "fallback", "channel_order": ["sms", "email"]}
    failing = rows.notification_for("u-fallback", **fallback)
    retrying = rows.notification_for("u-fallback-retry", **fallback)
    token, [failed] = _leased(failing, [{}])
    _, [retry] = _leased(retrying, [{}], token=token)
    _record(
        token,
        [rows.result(failed, "twilio", INVALID), rows.result(retry, "twilio", UNAVAILABLE)],
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
    token, leased = _leased(rows.notification_for("u-pairs"), [{}, {}])

    with pytest.raises(ValueError):
        _record(token, [rows.result(leased[0], "twilio")], *leased)
    _record(token, [])

    assert set(Delivery.objects.values_list("status", flat=True)) == {"sending"}
