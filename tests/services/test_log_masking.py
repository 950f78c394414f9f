"""Logging as configured by the settings: contact points are masked, and a log call can never
break the code that made it."""

from __future__ import annotations

import logging

import pytest

from notify.logs import MaskPII


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("notify.test", logging.WARNING, __file__, 1, msg, args, None)


def test_contact_points_are_masked() -> None:
    record = _record("sent to %s and %s", "ada.lovelace@example.com", "+14155552671")

    assert MaskPII().filter(record) is True

    message = record.getMessage()
    assert "ada.lovelace@example.com" not in message
    assert "4155552671" not in message
    assert "@example.com" in message


def test_a_malformed_log_call_does_not_raise_into_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Logging reports a bad format string itself (handleError prints "--- Logging error ---");
    # a filter that formats the record must not turn it into an exception in whatever code
    # logged, an SDK's or ours. (pytest's own handler raises from handleError unless told
    # not to, as production's handlers never do.)
    monkeypatch.setattr(logging, "raiseExceptions", False)
    logger = logging.getLogger("notify.test.malformed")

    logger.warning("%s and %s", "only one argument")  # noqa: PLE1206
    logger.warning("%d", "not a number")


def test_a_record_two_handlers_filter_keeps_the_token_prefix() -> None:
    # Each handler has its own MaskPII, and a filter rewrites the record they share.
    token = "tok_" + "S3cr3t" * 8
    record = _record("GET %s", f"/u/{token}/?signature={token}")

    MaskPII().filter(record)
    MaskPII().filter(record)

    assert record.getMessage() == "GET /u/tok_…/?signature=tok_…"
