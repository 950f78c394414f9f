"""Celery signal handlers for observability, connected by celery_app.py: log context per
task, tracing in each worker child, and metrics bookkeeping when a child exits."""

from __future__ import annotations

from typing import Any

from celery import signals

from notify.observability import jsonlogs, tracing
from notify.observability.metrics import process_dead


def _process_shutdown(**_: Any) -> None:
    tracing.tracing_flush()
    process_dead()


def connect() -> None:
    signals.task_prerun.connect(jsonlogs.on_task_prerun, weak=False)
    signals.task_postrun.connect(jsonlogs.on_task_postrun, weak=False)
    signals.worker_process_init.connect(tracing.worker_tracing_setup, weak=False)
    signals.worker_process_shutdown.connect(_process_shutdown, weak=False)
