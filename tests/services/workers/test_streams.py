"""Which outbox streams a worker serves, from the Celery queues it consumes."""

from __future__ import annotations

from typing import Any

from notify.services.workers.streams import dispatcher_build, streams_for

LANES = ["email:urgent", "email:standard", "sms:urgent", "sms:standard"]
CHANNEL_LANES = [*LANES, "push:urgent", "push:standard"]
# The maintenance queue brings the background streams: outbound webhooks, digests.
BACKGROUND = ["webhooks", "digests"]
ALL = CHANNEL_LANES + BACKGROUND


def test_a_worker_without_queues_serves_every_stream(settings: Any) -> None:
    streams = streams_for([])

    assert [s.name for s in streams] == ALL
    lanes = [s for s in streams if s.name in CHANNEL_LANES]
    assert {s.name: s.urgent for s in lanes} == {n: n.endswith(":urgent") for n in CHANNEL_LANES}
    assert {s.limit for s in lanes} == {settings.NOTIFY_STREAM_CONCURRENCY}
    limits = {s.name: s.limit for s in streams if s.name in BACKGROUND}
    assert limits == {
        "webhooks": settings.NOTIFY_WEBHOOK_CONCURRENCY,
        "digests": settings.NOTIFY_DIGEST_CONCURRENCY,
    }
    assert not any(s.urgent for s in streams if s.name in BACKGROUND)


def test_a_channel_queue_brings_its_standard_lane_and_urgent_every_urgent_lane() -> None:
    assert [s.name for s in streams_for(["email"])] == ["email:standard"]
    assert [s.name for s in streams_for(["urgent"])] == [
        "email:urgent",
        "sms:urgent",
        "push:urgent",
    ]
    assert [s.name for s in streams_for(["maintenance"])] == BACKGROUND
    assert [s.name for s in streams_for(["sms", "maintenance"])] == ["sms:standard", *BACKGROUND]


def test_the_dispatcher_serves_the_streams_of_its_queues() -> None:
    dispatcher = dispatcher_build(["push", "urgent"])

    assert dispatcher.streams == ["email:urgent", "sms:urgent", "push:urgent", "push:standard"]
    assert not dispatcher.alive()  # built, not started
