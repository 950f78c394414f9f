"""This worker process's outbox dispatcher (outbox.py): built on first use, from the Celery
queues the worker consumes unless a factory was configured (tests), restarted if its threads
died, and stopped when the process exits (celery_app.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from notify.services.outbox.engine import Dispatcher
from notify.services.workers.streams import dispatcher_build

logger = logging.getLogger(__name__)


class _Process:
    """This process's dispatcher, built on first use by the factory the worker configured."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.dispatcher: Dispatcher | None = None
        self.factory: Callable[[], Dispatcher] | None = None

    def ensure(self) -> Dispatcher:
        with self.lock:
            if self.dispatcher is None or not self.dispatcher.alive():
                self.dispatcher = (self.factory or _worker_dispatcher)()
                self.dispatcher.start()
                logger.info("outbox: dispatcher serving %s", ", ".join(self.dispatcher.streams))
            return self.dispatcher


def _worker_dispatcher() -> Dispatcher:
    """The streams of the queues this Celery worker consumes (-Q); all when it has no -Q."""
    # Imported here: the Celery app imports this module's callers while it is being set up.
    from celery import current_app

    return dispatcher_build(current_app.amqp.queues.consume_from or ())


_process = _Process()


def outbox_configure(factory: Callable[[], Dispatcher]) -> None:
    """Build this process's dispatcher with `factory` instead of from the worker's queues."""
    _process.factory = factory


def outbox_start() -> None:
    _process.ensure()


def outbox_wake(name: str) -> None:
    """Wake `name` on this process's dispatcher, starting (or restarting) it if needed."""
    _process.ensure().wake(name)


def outbox_stop(timeout: float) -> None:
    with _process.lock:
        dispatcher, _process.dispatcher = _process.dispatcher, None
    if dispatcher is not None:
        dispatcher.stop(timeout)
