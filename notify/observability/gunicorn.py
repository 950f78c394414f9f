"""Gunicorn hooks and logging: `gunicorn -c python:notify.observability.gunicorn ...` (make
run and the image's command pass it; docker-compose also sets it through GUNICORN_CMD_ARGS).
Only what must hold wherever gunicorn runs is here: every other setting stays on the command
line."""

from __future__ import annotations

from typing import Any

# The access log masks unsubscribe tokens and credential-like query values (notify.logs).
logger_class = "notify.observability.accesslog.MaskedLogger"


def child_exit(server: Any, worker: Any) -> None:
    """In the master, when a worker process exits: multiprocess-metrics bookkeeping."""
    from notify.observability.metrics import process_dead, process_identifier

    process_dead(process_identifier(worker.pid))
