"""Which outbox streams a worker process serves, from the Celery queues its worker consumes:
a channel's queue brings its standard lane, `urgent` every channel's urgent lane, and
`maintenance` the outbound webhooks and digest flushes (where beat's wake-ups for them go). A worker
started without -Q consumes every queue and so serves every stream."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings

from channels import names as channel_names
from notify.services.accepting.digest_flush import DigestStream
from notify.services.delivering.sending import DeliveryStream
from notify.services.outbox.doorbell import STANDARD, URGENT, queue_for
from notify.services.outbox.engine import Dispatcher, Stream
from notify.services.webhooks.delivery import WebhookStream


def streams_for(queues: Collection[str]) -> list[Stream]:
    """`queues` empty means every queue."""
    streams: list[Stream] = []
    for channel in channel_names():
        for lane in (URGENT, STANDARD):
            queue = queue_for(channel, lane)
            if not queues or queue in queues:
                limit = settings.NOTIFY_STREAM_CONCURRENCY
                streams.append(DeliveryStream(channel=channel, lane=lane, limit=limit))
    if not queues or "maintenance" in queues:
        streams.append(WebhookStream(limit=settings.NOTIFY_WEBHOOK_CONCURRENCY))
        streams.append(DigestStream(limit=settings.NOTIFY_DIGEST_CONCURRENCY))
    return streams


def dispatcher_build(queues: Collection[str]) -> Dispatcher:
    return Dispatcher(
        streams_for(queues),
        capacity=settings.NOTIFY_SEND_CONCURRENCY,
        reserve=settings.NOTIFY_URGENT_RESERVE,
    )
