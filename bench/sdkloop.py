"""The bare-SDK ceiling, one process of it: THREADS threads calling Notify's channel classes
(`channels.get_channel(name).send(Message(...))`) in a tight loop, with no database, queue or
bookkeeping. The channel classes are the thin SDK wrappers the workers use, so the SDK is
configured exactly as in production (the twilio host rewrite and timeout, one SMTP connection
and one twilio client per thread, the FCM session's pool); a hand-written loop could configure
the SDKs differently and measure a different ceiling.

Run as `python -m bench.sdkloop KIND THREADS START_AT SECONDS` (KIND: email, sms, push, mix);
every process starts sending at the wall-clock START_AT, so Django's import time is not counted.
Prints one JSON line."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from itertools import count

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

import django

django.setup()

from bench.payloads import message_content  # noqa: E402
from channels import DeliveryError, Message, get_channel  # noqa: E402

_ids = count()


def _message(channel: str, n: int) -> Message:
    to = {
        "email": f"user{n}@bench.example",
        "sms": f"+1415555{100 + n % 9900:04d}",
        "push": f"bench-token-{n}",
    }[channel]
    return Message(
        delivery_id=f"sdk-{os.getpid()}-{n}",
        notification_id=f"sdk-notification-{n}",
        to=to,
        content=message_content(channel),
        category="bench",
    )


def _loop(kind: str, start_at: float, end_at: float, counts: dict[str, int]) -> None:
    channels = ["email", "sms", "push"] if kind == "mix" else [kind]
    sent = failed = 0
    # Warm the thread's connection before the clock starts, as a long-running worker has.
    get_channel(channels[0]).send(_message(channels[0], next(_ids)))
    time.sleep(max(0.0, start_at - time.time()))
    i = threading.get_ident() % len(channels)
    while time.time() < end_at:
        channel = channels[i % len(channels)]
        i += 1
        try:
            get_channel(channel).send(_message(channel, next(_ids)))
            sent += 1
        except DeliveryError:
            failed += 1
    counts["sent"] += sent
    counts["failed"] += failed


def main() -> None:
    kind, threads, start_at, seconds = (
        sys.argv[1],
        int(sys.argv[2]),
        float(sys.argv[3]),
        float(sys.argv[4]),
    )
    end_at = start_at + seconds
    counts = {"sent": 0, "failed": 0}
    lock = threading.Lock()

    def run() -> None:
        local = {"sent": 0, "failed": 0}
        _loop(kind, start_at, end_at, local)
        with lock:
            for key, value in local.items():
                counts[key] += value

    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    cpu_before = None
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = time.process_time()
    for worker in workers:
        worker.join(timeout=seconds + 60)
    print(json.dumps({**counts, "cpu_seconds": round(time.process_time() - cpu_before, 2)}))


if __name__ == "__main__":
    main()
