"""How Notify delivers: batching, retries, leases, sweeping. All tunable from the environment."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from notify.settings.env import env

# Attempts per delivery before it fails for good (transient errors only; permanent errors
# fail at once).
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=8)
# Exponential backoff with full jitter: sleep uniform(0, min(cap, base * 2**(attempt-1))).
NOTIFY_RETRY_BASE_SECONDS = env.float("NOTIFY_RETRY_BASE_SECONDS", default=2.0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=1800.0)
# Waits up to this long ride on a Celery countdown; longer ones are left to the sweeper,
# because long countdowns on Redis are re-run after the visibility timeout.
NOTIFY_MAX_COUNTDOWN_SECONDS = env.float("NOTIFY_MAX_COUNTDOWN_SECONDS", default=300.0)
# Each worker process runs one dispatcher (notify/services/outbox/engine.py) that keeps up to
# SEND_CONCURRENCY sends in flight across every channel, at most STREAM_CONCURRENCY of them on
# one channel's lane (a slow provider cannot take every slot), plus URGENT_RESERVE slots only
# critical/high messages may use. A claim takes at most BATCH_SIZE deliveries.
NOTIFY_BATCH_SIZE = env.int("NOTIFY_BATCH_SIZE", default=100)
NOTIFY_SEND_CONCURRENCY = env.int("NOTIFY_SEND_CONCURRENCY", default=32)
NOTIFY_STREAM_CONCURRENCY = env.int("NOTIFY_STREAM_CONCURRENCY", default=24)
NOTIFY_URGENT_RESERVE = env.int("NOTIFY_URGENT_RESERVE", default=8)
# The engine's pacing. Outcomes are written in groups: once FLUSH_COUNT are done, the stream
# has nothing in flight, or the oldest has waited FLUSH_SECONDS (one write, not one a send). A
# stream with more due than this process has room for wakes another process at most every
# RECRUIT_SECONDS. A failed claim or write is tried again after RETRY_SECONDS; a write that
# fails RECORD_TRIES times is given up and its deliveries left to their leases (the sweeper
# then resends email and push and asks Twilio about SMS).
NOTIFY_OUTBOX_FLUSH_COUNT = env.int("NOTIFY_OUTBOX_FLUSH_COUNT", default=25)
NOTIFY_OUTBOX_FLUSH_SECONDS = env.float("NOTIFY_OUTBOX_FLUSH_SECONDS", default=0.05)
NOTIFY_OUTBOX_RECRUIT_SECONDS = env.float("NOTIFY_OUTBOX_RECRUIT_SECONDS", default=0.5)
NOTIFY_OUTBOX_RETRY_SECONDS = env.float("NOTIFY_OUTBOX_RETRY_SECONDS", default=1.0)
NOTIFY_OUTBOX_RECORD_TRIES = env.int("NOTIFY_OUTBOX_RECORD_TRIES", default=15)
# Broadcast expansion runs for at most this long per task, then re-queues itself, so one big
# broadcast does not hold a worker process.
NOTIFY_DRAIN_BUDGET_SECONDS = env.float("NOTIFY_DRAIN_BUDGET_SECONDS", default=3.0)
# A claimed delivery whose worker vanished is looked at again after its lease runs out.
NOTIFY_LEASE_SECONDS = env.int("NOTIFY_LEASE_SECONDS", default=120)
# Digests (notify/services/accepting/digest_flush.py): flushes in flight per worker process, and how
# long a flush claim holds a digest before another worker may take it over. Two: a chunk is
# mostly Python, and a process's flush threads share one interpreter, so eight chunks at once
# all closed late together (the first digest seconds after its hour) for no more throughput;
# with two, one renders while the other waits on Postgres.
NOTIFY_DIGEST_CONCURRENCY = env.int("NOTIFY_DIGEST_CONCURRENCY", default=2)
NOTIFY_DIGEST_LEASE_SECONDS = env.int("NOTIFY_DIGEST_LEASE_SECONDS", default=60)
# A flush claims due digests in chunks of this many and writes each chunk set-wise (a few
# statements per chunk); CONCURRENCY above counts chunks.
NOTIFY_DIGEST_CHUNK = env.int("NOTIFY_DIGEST_CHUNK", default=500)
# An SMS whose send reply was lost waits this long for a status callback before the sweeper
# asks Twilio whether it has the message.
NOTIFY_RECONCILE_AFTER_SECONDS = env.float("NOTIFY_RECONCILE_AFTER_SECONDS", default=30.0)
# At most this many non-critical notifications per recipient per period ("10/h", "3/15m");
# empty: no cap. Capped messages are recorded as skipped.
NOTIFY_FREQUENCY_CAP = env.str("NOTIFY_FREQUENCY_CAP", default="")
# Idempotency keys are kept at least this long.
NOTIFY_IDEMPOTENCY_TTL_HOURS = env.int("NOTIFY_IDEMPOTENCY_TTL_HOURS", default=24)
# Public base URL of this service, used for provider status callbacks (e.g. Twilio's
# StatusCallback). Empty: no callbacks are requested.
NOTIFY_PUBLIC_URL = env.str("NOTIFY_PUBLIC_URL", default="")
# Unsubscribe links in emails stop working this many days after the email was sent (also
# links from before tokens were encrypted). Long, because people unsubscribe from old mail
# and the law expects the link to keep working; a link can only opt its own recipient out
# of one category, so a long life costs little.
NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS = env.int(
    "NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS", default=180
)
if NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS < 30:
    # CAN-SPAM wants an opt-out mechanism to work for at least 30 days after sending.
    raise ImproperlyConfigured("NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS must be at least 30.")

# --- Provider protection (shared by all workers through Redis) ------------------------------
# Global send rate per provider, messages per second, e.g. "twilio=100,fcm=500,smtp=50".
# Unlisted providers are not limited.
NOTIFY_RATE_LIMITS = {
    name: float(rate)
    for name, rate in (
        item.split("=", 1) for item in env.list("NOTIFY_RATE_LIMITS", default=[]) if "=" in item
    )
}
# Circuit breaker per provider: opens when, within the window, at least MIN_CALLS sends were
# made and at least FAILURE_RATE of them failed transiently (permanent errors, such as an
# invalid number, do not count); stays open OPEN_SECONDS, then lets one probe batch through.
NOTIFY_BREAKER_WINDOW_SECONDS = env.int("NOTIFY_BREAKER_WINDOW_SECONDS", default=30)
NOTIFY_BREAKER_MIN_CALLS = env.int("NOTIFY_BREAKER_MIN_CALLS", default=10)
NOTIFY_BREAKER_FAILURE_RATE = env.float("NOTIFY_BREAKER_FAILURE_RATE", default=0.5)
NOTIFY_BREAKER_OPEN_SECONDS = env.float("NOTIFY_BREAKER_OPEN_SECONDS", default=30.0)

# --- Outbound status webhooks (notify/services/webhooks/endpoints.py) ----------------
# A webhook URL that resolves to a loopback, private, link-local, multicast or reserved
# address is refused, at registration and before every send, unless this is set: callers
# must not be able to make Notify call into its own network (SSRF). Tests and local
# set-ups with a receiver on 127.0.0.1 set it.
NOTIFY_WEBHOOKS_ALLOW_PRIVATE = env.bool("NOTIFY_WEBHOOKS_ALLOW_PRIVATE", default=False)
# Seconds for the whole POST (connect, send, first bytes of the answer).
NOTIFY_WEBHOOK_TIMEOUT_SECONDS = env.float("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Attempts per event; between them, exponential backoff with full jitter from BASE up to MAX
# seconds (the defaults spread 8 attempts over about two hours). Waits live in the outbox
# row and beat wakes the stream for what is due, never a Celery countdown.
NOTIFY_WEBHOOK_MAX_ATTEMPTS = env.int("NOTIFY_WEBHOOK_MAX_ATTEMPTS", default=8)
NOTIFY_WEBHOOK_RETRY_BASE_SECONDS = env.float("NOTIFY_WEBHOOK_RETRY_BASE_SECONDS", default=60.0)
NOTIFY_WEBHOOK_RETRY_MAX_SECONDS = env.float("NOTIFY_WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
# POSTs in flight per worker process; a claimed event is due again after LEASE seconds if
# its sender vanished (past the POST timeout and a slow DNS lookup).
NOTIFY_WEBHOOK_CONCURRENCY = env.int("NOTIFY_WEBHOOK_CONCURRENCY", default=8)
NOTIFY_WEBHOOK_LEASE_SECONDS = env.int("NOTIFY_WEBHOOK_LEASE_SECONDS", default=120)
# Endpoints per API key.
NOTIFY_WEBHOOK_MAX_ENDPOINTS = env.int("NOTIFY_WEBHOOK_MAX_ENDPOINTS", default=10)
# Sent and failed webhook events are kept this long for the admin's delivery log.
NOTIFY_WEBHOOK_RETENTION_DAYS = env.int("NOTIFY_WEBHOOK_RETENTION_DAYS", default=14)

# --- Broadcasts -----------------------------------------------------------------------------
NOTIFY_BROADCAST_MAX_RECIPIENTS = env.int("NOTIFY_BROADCAST_MAX_RECIPIENTS", default=100_000)
# Recipients expanded per task run (each run is short; the task re-queues itself).
NOTIFY_BROADCAST_CHUNK = env.int("NOTIFY_BROADCAST_CHUNK", default=500)
# Broadcast request bodies may be this large (other API bodies: MAX_REQUEST_BYTES).
NOTIFY_BROADCAST_MAX_BYTES = env.int("NOTIFY_BROADCAST_MAX_BYTES", default=32 * 1024 * 1024)
# A broadcast's delivery counts that took at least this long to count are kept in Redis for
# twenty times what they cost (audiences/progress.py), so polling a large one stays cheap.
NOTIFY_BROADCAST_PROGRESS_KEEP_FROM_SECONDS = env.float(
    "NOTIFY_BROADCAST_PROGRESS_KEEP_FROM_SECONDS", default=0.05
)
# --- Batches (POST /api/v1/notifications/batch/) ---------------------------------------------
# Notifications per batch request; each is validated, planned and written in one transaction.
NOTIFY_BATCH_MAX_ITEMS = env.int("NOTIFY_BATCH_MAX_ITEMS", default=1000)
# Batch bodies may be this large: 1,000 items of a few kilobytes each.
NOTIFY_BATCH_MAX_BYTES = env.int("NOTIFY_BATCH_MAX_BYTES", default=16 * 1024 * 1024)

# Django refuses bodies past DATA_UPLOAD_MAX_MEMORY_SIZE (400); our middleware applies the
# per-endpoint limits first, with a 413.
from notify.settings.base import DATA_UPLOAD_MAX_MEMORY_SIZE as MAX_REQUEST_BYTES  # noqa: E402

# --- Recipient imports ----------------------------------------------------------------------
# Rows per import (API request or admin upload); bigger lists are sent in several imports.
NOTIFY_IMPORT_MAX_ROWS = env.int("NOTIFY_IMPORT_MAX_ROWS", default=10_000)
# Import bodies may be this large: 10,000 rows with tokens fit with room to spare.
NOTIFY_IMPORT_MAX_BYTES = env.int("NOTIFY_IMPORT_MAX_BYTES", default=8 * 1024 * 1024)

DATA_UPLOAD_MAX_MEMORY_SIZE = max(
    MAX_REQUEST_BYTES, NOTIFY_BROADCAST_MAX_BYTES, NOTIFY_IMPORT_MAX_BYTES, NOTIFY_BATCH_MAX_BYTES
)

# --- Retention (notify/services/operations/retention.py) ----------------------------
# Notifications whose deliveries are all finished are deleted, with their deliveries and
# attempts, once older than this many days (hourly, in batches); 0 keeps them forever.
# Scheduled and in-flight messages are kept whatever their age.
NOTIFY_RETENTION_DAYS = env.int("NOTIFY_RETENTION_DAYS", default=90)
# Analyze Notify's tables on each tick once a tenth of their rows changed since the last
# ANALYZE (operations/statistics.py), as autovacuum would; off where a DBA schedules it.
NOTIFY_ANALYZE_STALE_TABLES = env.bool("NOTIFY_ANALYZE_STALE_TABLES", default=True)
