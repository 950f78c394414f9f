"""The retry policy: exponential backoff with full jitter, and a provider's Retry-After."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from notify.services.outcomes import retry_delay

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
