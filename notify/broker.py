"""Celery's Redis transport, made to survive a malformed message.

kombu's Redis channel pops a message off a queue's list (BRPOP) and parses it in the
worker's main process; anything that is not a kombu message (not JSON, or JSON of another
shape) raises there, and Celery stops the whole worker with "Unrecoverable error". Anyone
who can write to the broker's Redis can do that by mistake (a stray LPUSH, a client of
another version). This transport checks each popped payload first: one that cannot become a
message is moved to the Redis list DEAD_LETTER_KEY (newest first, the newest DEAD_LETTER_KEEP
kept), logged, and the worker carries on with the next one.

Wired by CELERY_BROKER_TRANSPORT in notify/settings/celery.py for redis:// and rediss://
broker URLs. The override mirrors kombu 5.7's Channel._brpop_read (kombu is pinned exactly;
tests/broker/test_broker.py fails if an upgrade changes the behaviour).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from queue import Empty
from typing import Any

from kombu.exceptions import OperationalError
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEAD_LETTER_KEY = "notify:dead-letter"
# A flood of garbage must not fill Redis: older entries fall off the end.
DEAD_LETTER_KEEP = 1000


class Channel(kombu_redis.Channel):
    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                # As kombu: disconnect so the next iteration reconnects.
                self.client.connection.disconnect()
                raise
            if not dest__item:
                raise Empty()
            dest, item = dest__item
            queue = bytes_to_str(dest).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(queue)
            message = self._decode(item, queue)
            if message is None:
                # What kombu raises for "nothing delivered"; the loop issues the next BRPOP.
                raise Empty()
            self.connection._deliver(message, queue)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]  # as kombu does
            self._flush_brpop_reauth()

    def _decode(self, item: bytes, queue: str) -> dict[str, Any] | None:
        """The payload, if it is a message the consumer can take; else None, after moving it
        to the dead-letter list."""
        try:
            payload = loads(bytes_to_str(item))
            # What the consumer's callback builds from it: raises on any wrong shape.
            self.Message(payload, channel=self)
        except Exception as exc:  # every way a payload can fail to become a message
            self._dead_letter(item, queue, exc)
            return None
        return payload

    def _dead_letter(self, item: bytes, queue: str, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        entry = json.dumps(
            {
                "queue": queue,
                "error": error,
                "at": datetime.now(UTC).isoformat(),
                # Not valid UTF-8 is shown escaped rather than lost.
                "payload": item.decode("utf-8", "backslashreplace"),
            }
        )
        try:
            with self.conn_or_acquire() as client, client.pipeline() as pipe:
                pipe.lpush(DEAD_LETTER_KEY, entry)
                pipe.ltrim(DEAD_LETTER_KEY, 0, DEAD_LETTER_KEEP - 1)
                pipe.execute()
        except (RedisError, OperationalError):
            # The payload may carry personal data: its size is logged, not its content.
            logger.exception(
                "malformed message on queue %r (%d bytes, %s) dropped: could not be moved to %s",
                queue,
                len(item),
                error,
                DEAD_LETTER_KEY,
            )
            return
        logger.error(
            "malformed message on queue %r (%d bytes, %s) moved to Redis list %s",
            queue,
            len(item),
            error,
            DEAD_LETTER_KEY,
        )


class Transport(kombu_redis.Transport):
    Channel = Channel
