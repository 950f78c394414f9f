"""Gunicorn hooks: `gunicorn -c python:notify.observability.gunicorn ...` (make run passes it;
docker-compose sets it through GUNICORN_CMD_ARGS). Only hooks: every other setting stays on
the command line."""

from __future__ import annotations

from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """In the master, when a worker process exits: multiprocess-metrics bookkeeping."""
    from notify.observability.metrics import process_dead, process_identifier

    process_dead(process_identifier(worker.pid))
