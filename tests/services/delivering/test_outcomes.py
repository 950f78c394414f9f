"""Recording a batch's outcomes: the retry policy (exponential backoff with full jitter, a
provider's Retry-After) and the delayed drain that brings a retry back. Provider protection
(a 429's two halves, the breaker's policy) is in test_outcomes_protection.py; the stored
rows, the change events, dead devices, suppressions and the next channel of a "fallback"
notification are in test_outcomes_stored.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from channels import DeliveryError
from notify.models import Delivery
from notify.services.delivering.outcomes import retry_delay
from tests.services import rows

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


@pytest.mark.parametrize(
    ("error", "low", "high"),
    [
        (rows.UNAVAILABLE, 0.0, 0.2),  # a first attempt's backoff: full jitter up to the base
        (DeliveryError("503", code="http_503", retry_after=1.5), 1.5, 1.5),  # as asked
        (rows.throttled(0.01), 0.05, 0.05),  # a 429 never comes back at once
        (rows.throttled(None), 1.0, 1.0),  # a 429 without Retry-After waits a second
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
    token, [due] = rows.leased(rows.notification_for("u-retry"), [{}], channel="nobody")
    before = timezone.now()
    rows.record(token, [rows.result(due, "twilio", error)], due, channel="nobody")
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
