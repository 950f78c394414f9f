"""The suite's own Redis when the run was not told which to use: a redis-server (the one
`make run` embeds) on a free port with its data in a temporary directory, stopped when the
test process exits. Test code empties its Redis database freely (FLUSHDB); on a server nobody
else knows about, that only ever deletes the suite's own keys."""

from __future__ import annotations

import atexit
import os
from contextlib import ExitStack

from notify.stack.commands import TEST_REDIS_DB, TEST_REDIS_URL
from notify.stack.embedded_redis import throwaway_redis

# Explicit choices, in this order: a whole URL, or a database number on REDIS_URL's server
# (two suites side by side on one shared Redis, each on its own database).
URL_VARIABLE = TEST_REDIS_URL
DB_VARIABLE = TEST_REDIS_DB


def private_redis_url() -> str:
    """Start a redis-server for this process's lifetime and return its URL."""
    owner = os.getpid()
    server = ExitStack()
    url = server.enter_context(throwaway_redis())

    def stop() -> None:
        if os.getpid() == owner:  # a forked child inherits atexit hooks, not the server
            server.close()

    atexit.register(stop)
    return url
