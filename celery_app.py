"""The Celery application: `celery -A celery_app worker|beat|flower`.

Configuration lives in Django settings under the CELERY_ namespace (notify/settings/celery.py).
Each worker pool process sends through its own outbox dispatcher
(notify/services/outbox/engine.py), started when the process starts and stopped, after
its sends in flight, when it exits.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from notify.observability import worker as observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

app = Celery("notify")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["notify"])


@worker_process_shutdown.connect
def _stop_outbox(**_: Any) -> None:
    # Let the sends in flight finish and record them before the process exits (connected
    # before observability's handlers, which then flush their spans and metrics); a kill -9
    # instead leaves them to the sweeper (expired leases).
    from notify.services.workers.outbox_process import outbox_stop

    outbox_stop(timeout=20)


# Log context per task, tracing in worker children, metrics bookkeeping on child exit.
observability.connect()


@worker_process_init.connect
def _start_outbox(**_: Any) -> None:
    # After the fork (threads do not survive one) and after tracing is set up; started now so
    # the first message does not wait for the provider SDKs to import.
    import notify.services.audiences.fanout  # noqa: F401
    from notify.services.workers.outbox_process import outbox_start

    outbox_start()
