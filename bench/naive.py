"""The baseline: the simplest design, one Celery task per delivery, no batching and no
concurrency inside a task. Loaded only by the baseline's worker (`celery -A celery_app worker
-I bench.naive -Q naive`); the load generator publishes one task per accepted delivery.

The task does what a drain does for a batch, for exactly one delivery and with the same code:
a conditional UPDATE claims it under a fencing token (so a redelivered task sends once), then
`deliveries_send` checks suppression, calls the channel (the same SDK wrapper) and records the
outcome and the attempt row in one transaction. So the baseline differs from the real pipeline
only in its unit of work, which is what the comparison is about."""

from __future__ import annotations

import uuid
from typing import Any

from celery.signals import worker_init

from celery_app import app

_CLAIM_ONE = """
UPDATE notify_delivery SET status = 'sending', lease_token = %(token)s,
       lease_until = now() + make_interval(secs => %(lease)s),
       attempts = attempts + 1, updated_at = now()
WHERE id = %(id)s AND status = 'pending' AND next_attempt_at <= now()
RETURNING id
"""


@worker_init.connect
def _preload(**_: Any) -> None:
    """Import the send path (Django models, the three SDKs) in the main process, before the
    pool forks: otherwise each of 32 pool processes imports twilio, firebase-admin and
    anymail on its first task, all at once, which costs each of them ~15 s of a contended
    CPU and would be measured as the design's cost."""
    import django

    django.setup()
    import notify.services.delivering.sending  # noqa: F401


@app.task(name="bench.naive.send", acks_late=True, ignore_result=True)
def send(delivery_id: str) -> bool:
    from django.conf import settings
    from django.db import connection

    from channels import providers_for
    from notify.models.notifications import Delivery
    from notify.services.delivering.sending import deliveries_send

    token = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_ONE, {"token": token, "lease": settings.NOTIFY_LEASE_SECONDS, "id": delivery_id}
        )
        if cursor.fetchone() is None:
            return False  # already sent (a redelivered message) or not due
    delivery = Delivery.objects.select_related("notification").get(id=delivery_id)
    provider = providers_for(delivery.channel)[0]
    deliveries_send(channel=delivery.channel, token=token, deliveries=[delivery], provider=provider)
    return True
