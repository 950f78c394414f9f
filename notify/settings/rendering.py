"""Bounds on message rendering (notify/services/content/render_limits.py) and on the `data` a caller
may send with a template. A message that exceeds one is refused with a 400 naming it at
accept, and skipped with error code "render_limit" in a broadcast; a broadcast whose messages
together exceed theirs is halted."""

from __future__ import annotations

from notify.settings.env import env

# --- One message's render (all its parts together) ------------------------------------------
# Wall-clock seconds; checked at every loop iteration, printed value and filter call.
NOTIFY_RENDER_MAX_SECONDS = env.float("NOTIFY_RENDER_MAX_SECONDS", default=2.0)
# All the messages of one request (a batch) together: the items rendered after it runs out
# are refused with a field error, the others accepted.
NOTIFY_RENDER_MAX_REQUEST_SECONDS = env.float("NOTIFY_RENDER_MAX_REQUEST_SECONDS", default=5.0)
# All the messages of one broadcast together, across its chunks and worker processes (the
# time spent is kept on the broadcast's row): when it runs out the broadcast stops expanding
# and ends "halted" with a reason. Ten minutes is 6 ms a recipient at 100,000 recipients;
# an email whose text and HTML each loop over ten items renders in under 1 ms.
NOTIFY_RENDER_MAX_BROADCAST_SECONDS = env.float(
    "NOTIFY_RENDER_MAX_BROADCAST_SECONDS", default=600.0
)
# {% for %} iterations, counted across every loop (nested loops multiply).
NOTIFY_RENDER_MAX_LOOP_ITERATIONS = env.int("NOTIFY_RENDER_MAX_LOOP_ITERATIONS", default=10_000)
# Characters of output, all parts together; also the longest string any filter may produce.
# The largest message the channels accept (email html + text) is about 300,000.
NOTIFY_RENDER_MAX_OUTPUT_CHARS = env.int("NOTIFY_RENDER_MAX_OUTPUT_CHARS", default=500_000)

# --- The `data` object of a request (the template context) ----------------------------------
NOTIFY_DATA_MAX_BYTES = env.int("NOTIFY_DATA_MAX_BYTES", default=64 * 1024)
# Objects and lists inside one another, counting `data` itself.
NOTIFY_DATA_MAX_DEPTH = env.int("NOTIFY_DATA_MAX_DEPTH", default=10)
# Keys and list items, counted through every level.
NOTIFY_DATA_MAX_ITEMS = env.int("NOTIFY_DATA_MAX_ITEMS", default=10_000)
