"""JSON log lines: the fields, the ids from the log context, and the PII mask still applied
(to the message, and to every other field too)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from notify.logs import MaskPII
from notify.observability.jsonlogs import (
    JsonFormatter,
    LogContextFilter,
    bound,
    on_task_postrun,
    on_task_prerun,
)


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The root logger writing through the handler LOG_FORMAT=json configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskPII())
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_ids_and_no_contact_points(lines: io.StringIO) -> None:
    log = logging.getLogger("notify.test")
    with bound(notification_id="n-1"):
        log.warning(
            "sms to %s failed; email %s bounced",
            "+14155552671",
            "ada@example.com",
            extra={"delivery_id": "d-1", "to": "grace@example.org"},
        )
    log.warning("outside")

    first, second = _records(lines)
    assert first["level"] == "WARNING"
    assert first["logger"] == "notify.test"
    assert first["timestamp"].endswith("+00:00")
    assert first["notification_id"] == "n-1"
    assert first["delivery_id"] == "d-1"
    assert first["message"] == "sms to +141***71 failed; email a***@example.com bounced"
    assert first["to"] == "g***@example.org"  # masked even outside the message
    raw = lines.getvalue()
    for secret in ("+14155552671", "ada@example.com", "grace@example.org"):
        assert secret not in raw
    assert "notification_id" not in second  # the context ended with the block


def test_exceptions_are_one_line_and_masked(lines: io.StringIO) -> None:
    try:
        raise ValueError("bad address ada@example.com")
    except ValueError:
        logging.getLogger("notify.test").exception("send failed")

    (record,) = _records(lines)
    assert "ValueError: bad address a***@example.com" in record["exc_info"]


def test_celery_tasks_put_their_id_on_every_line(lines: io.StringIO) -> None:
    class Task:
        name = "notify.drain"

    on_task_prerun(sender=Task(), task_id="t-42")
    logging.getLogger("notify.test").warning("draining")
    on_task_postrun(task_id="t-42")
    logging.getLogger("notify.test").warning("idle")

    during, after = _records(lines)
    assert (during["task_id"], during["task_name"]) == ("t-42", "notify.drain")
    assert "task_id" not in after


def test_api_requests_get_a_request_id(lines: io.StringIO, db: Any) -> None:
    response = Client().get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="req-abc")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-abc"
    assert Client().get("/healthz")["X-Request-ID"]  # made up when not given
    # Django logs the 404 after the middleware has returned: the line still has the id.
    (not_found,) = [r for r in _records(lines) if r["logger"] == "django.request"]
    assert not_found["request_id"] == "req-abc"
    assert not_found["level"] == "WARNING"


def test_log_format_json_is_what_the_console_handler_uses(settings: Any) -> None:
    from logging.config import dictConfig

    config = {**settings.LOGGING, "handlers": {**settings.LOGGING["handlers"]}}
    config["handlers"]["console"] = {**config["handlers"]["console"], "formatter": "json"}
    dictConfig(config)
    try:
        handler = next(
            h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)
        )
        names = {type(f).__name__ for f in handler.filters}
        assert {"MaskPII", "LogContextFilter"} <= names
    finally:
        dictConfig(settings.LOGGING)
