"""Structured logs: LOG_FORMAT=json makes the console handler write one JSON object per line,
with the ids of what the line is about.

Ids come from two places: `extra={...}` on the call (notify.events lines carry delivery_id and
notification_id), and a context variable that the request middleware and Celery's
task_prerun signal fill in (request_id, task_id, notification_id), which LogContextFilter
copies onto every record. The PII mask (notify.logs) applies to the message as before, and
JsonFormatter masks the whole line again, so ids and extras cannot leak an address either."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from notify.logs import mask

CONTEXT_KEYS = (
    "request_id",
    "task_id",
    "task_name",
    "stream",
    "notification_id",
    "delivery_id",
)
_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "notify_log_context", default=_EMPTY
)


def log_context() -> Mapping[str, str]:
    return _context.get()


def context_bind(**ids: str) -> contextvars.Token[Mapping[str, str]]:
    """Add ids to the current context; returns the token that context_reset takes."""
    return _context.set({**_context.get(), **{k: str(v) for k, v in ids.items() if v}})


def context_reset(token: contextvars.Token[Mapping[str, str]]) -> None:
    _context.reset(token)


@contextmanager
def bound(**ids: str) -> Iterator[None]:
    token = context_bind(**ids)
    try:
        yield
    finally:
        context_reset(token)


class LogContextFilter(logging.Filter):
    """Copies the context's ids, and the current trace and span ids when tracing is on, onto
    the record (an id given in `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        span = trace.get_current_span().get_span_context()
        if span.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True


class JsonFormatter(_JsonFormatter):
    """timestamp, level, logger, message, then the record's extra fields and ids."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class LogContextMiddleware:
    """Gives each request a fresh log context with a request id (X-Request-ID when the
    caller sent a sane one) and, on the notification routes, the notification's id. The
    context lasts until the response is closed (request_finished), so Django's own
    "Not Found: ..." lines, written after the middleware returned, carry the id too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        request_finished.connect(_context_clear, dispatch_uid="notify.log_context")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if given.isascii() and 0 < len(given) <= 64 else uuid.uuid4().hex
        _context.set({"request_id": request_id})
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        if request.path.startswith("/api/v1/notifications/") and kwargs.get("pk"):
            context_bind(notification_id=str(kwargs["pk"]))


def _context_clear(**_: Any) -> None:
    _context.set(_EMPTY)


# Celery: the task's id and name for every line a task logs (connected in celery_app.py).
_task_tokens: dict[str, contextvars.Token[Mapping[str, str]]] = {}


def on_task_prerun(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _task_tokens[task_id] = context_bind(task_id=task_id, task_name=getattr(sender, "name", ""))


def on_task_postrun(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # reset from another context: drop the ids instead
            _context.set(_EMPTY)
