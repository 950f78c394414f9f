"""The retry policy (exponential backoff with full jitter, a provider's Retry-After) and
provider protection as outcomes are recorded: a 429's two halves and the breaker's policy."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery, DeliveryAttempt
from notify.services.delivering.outcomes import deliveries_record, retry_delay
from notify.services.delivering.protection import breaker_state
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from tests.services import rows
from tests.services.rows import forget_provider_state

DRAWS = 400


def test_the_test_settings_are_the_ones_these_tests_assume() -> None:
    assert settings.NOTIFY_RETRY_BASE_SECONDS == 0.2
    assert settings.NOTIFY_RETRY_MAX_SECONDS == 2.0


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


def _throttled(retry_after: float) -> DeliveryError:
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
