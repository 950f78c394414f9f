"""The Celery application: `celery -A celery_app worker|beat|flower`.

Configuration lives in Django settings under the CELERY_ namespace (notify/settings/celery.py).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from notify.observability import worker as observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

app = Celery("notify")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["notify"])
# Log context per task, tracing in worker children, metrics bookkeeping on child exit.
observability.connect()


@worker_process_init.connect
def _warm_up(**_: Any) -> None:
    # The send path imports the provider SDKs (twilio, firebase-admin, anymail): load them
    # when the pool process starts, not inside the first urgent message's drain.
    import notify.services.fanout
    import notify.services.sending  # noqa: F401
