"""Provider protection as outcomes are recorded: the 429 path (the provider paused for
everyone, the throttled delivery held without spending an attempt), the circuit breaker
(what it counts, its thresholds), and how a config error and a provider failure are logged."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery, DeliveryAttempt
from notify.services.delivering.outcomes import SendResult, deliveries_record
from notify.services.delivering.protection import breaker_state
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from tests.services import rows


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


def test_a_429_pauses_the_provider_so_no_other_delivery_is_claimed(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-429-others")
    others = rows.deliveries(notification, 3, channel="sms", to="+1415555030{i}")
    _record_sms(1, rows.throttled(30), "u-429")
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
    [throttled] = _record_sms(1, rows.throttled(30), "u-429-self")
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


@pytest.mark.parametrize(
    ("failures", "successes"),
    [(9, 0), (4, 6)],
    ids=["fewer-calls-than-the-minimum", "below-the-failure-rate"],
)
def test_the_breaker_stays_closed_below_its_thresholds(
    db: Any, clean_redis: redis.Redis, failures: int, successes: int
) -> None:
    notification = rows.notification_for(f"u-breaker-{failures}-{successes}")
    token, leased = rows.leased(notification, [{}] * (failures + successes))
    errors = [rows.UNAVAILABLE] * failures + [None] * successes
    rows.record(
        token, [rows.result(d, "twilio", e) for d, e in zip(leased, errors, strict=True)], *leased
    )

    assert breaker_state(provider="twilio") == "closed"


def test_a_skipped_send_or_a_429_in_a_batch_does_not_stop_the_rest_being_counted(
    db: Any, clean_redis: redis.Redis
) -> None:
    notification = rows.notification_for("u-batch-order")
    token, leased = rows.leased(notification, [{}] * 12)
    skipped, throttled, *failing = leased
    results = [
        SendResult.skip(str(skipped.id), "address suppressed (bounced)"),
        rows.result(throttled, "twilio", rows.throttled(None)),
        *[rows.result(d, "twilio", rows.UNAVAILABLE) for d in failing],
    ]
    rows.record(token, results, *leased)

    # Paused for the default second (no Retry-After), and the 10 failures open the circuit.
    assert 0 < clean_redis.pttl("notify:pause:twilio") <= 1000
    assert breaker_state(provider="twilio") == "open"


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
