"""Celery on Redis. Values follow docs/reliability.md §10; each says why."""

from __future__ import annotations

from kombu import Queue

from channels import queues as channel_queues
from notify.settings.base import REDIS_URL
from notify.settings.env import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# A malformed message on a queue is moved to a dead-letter list instead of stopping the
# worker (notify/broker.py). Sentinel URLs keep kombu's own transport.
if CELERY_BROKER_URL.partition("://")[0] in ("redis", "rediss"):
    CELERY_BROKER_TRANSPORT = "notify.broker:Transport"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# State lives in Postgres; a result backend would be a second, lossy truth.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A killed worker's message is redelivered; safe because every send is claimed in Postgres.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
# Recovery comes from our sweeper, not from a short visibility timeout; no countdown we
# publish is longer than NOTIFY_MAX_COUNTDOWN_SECONDS, far below this.
_VISIBILITY_TIMEOUT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 5,
    "socket_timeout": 10,
    "socket_keepalive": True,
    "health_check_interval": 25,
    "retry_on_timeout": True,
}
CELERY_VISIBILITY_TIMEOUT = _VISIBILITY_TIMEOUT
# Killing a send mid-HTTP-call creates an ambiguous send; pin the 5.x default before 6.0.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 30
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000
# A failed publish must not block an API request for long: the row is already committed and
# the sweeper publishes it later.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Workers log through Django's LOGGING (and so through the PII mask), not Celery's own
# root-logger set-up.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Flower needs task events.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

# One queue per channel plus an urgent lane shared by critical/high traffic, and one for
# housekeeping. A worker started without -Q consumes all of them.
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_QUEUES = [Queue(name) for name in ("urgent", *channel_queues(), "maintenance")]

# Two jobs, so Flower's task list shows the work rather than housekeeping (notify/tasks.py).
CELERY_BEAT_SCHEDULE = {
    # Sweep (due deliveries, expired leases, ambiguous SMS), webhook retries, lost pauses.
    "tick": {
        "task": "notify.tick",
        "schedule": env.float("NOTIFY_SWEEP_INTERVAL_SECONDS", default=5.0),
        "options": {"queue": "maintenance", "expires": 30},
    },
    # Purges: idempotency keys, webhook events, finished notifications past retention (each
    # run stops after ~30 s and the next one carries on).
    "hourly": {
        "task": "notify.hourly",
        "schedule": 3600.0,
        "options": {"queue": "maintenance"},
    },
}
