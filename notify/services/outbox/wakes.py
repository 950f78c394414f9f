"""The listening side of the doorbell (doorbell.py rings): a thread per dispatcher blocks on
every stream's Redis wake list and hands each token to the dispatcher, which claims at once.

It has its own Redis connection (a BLPOP holds a connection for its whole timeout, and needs a
socket timeout longer than that), made by the same factory as everything else's."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import redis
from django.conf import settings

from notify.redis_client import redis_connect
from notify.services.outbox.doorbell import bell_key, wake_key

logger = logging.getLogger(__name__)

_LISTEN_TIMEOUT = 1  # seconds per BLPOP, so a stopping listener notices


def wakes_listen(
    streams: Sequence[str], wake: Callable[[str], None], stopping: threading.Event
) -> None:
    """Call `wake(stream)` for each token popped, until `stopping` is set. BLPOP serves the
    first non-empty list in the order given, so urgent streams go first."""
    client = redis_connect(timeout=_LISTEN_TIMEOUT + 5, connect_timeout=2)
    keys = [wake_key(name) for name in streams]
    by_key = dict(zip(keys, streams, strict=True))
    while not stopping.is_set():
        try:
            popped = client.blpop(keys, timeout=_LISTEN_TIMEOUT)
            if popped is None:
                continue
            key = popped[0]
            name = by_key[key.decode() if isinstance(key, bytes) else key]
            # Before the claim: a commit from now on rings again (doorbell.py).
            client.delete(bell_key(name))
        except redis.RedisError:
            logger.warning("outbox: wake list unavailable; retrying", exc_info=True)
            stopping.wait(settings.NOTIFY_OUTBOX_RETRY_SECONDS)
            continue
        wake(name)
