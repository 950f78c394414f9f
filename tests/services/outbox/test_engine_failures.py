"""The outbox engine when a claim fails, a send raises or a write of outcomes fails, with a
scripted stream (tests/services/outbox/scripted.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from tests.harness import wait_for
from tests.services.outbox.scripted import Scripted


def test_a_claim_that_fails_is_tried_again_without_another_wake(
    run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Scripted()
    stream.add("a")
    stream.claim_errors = 1
    dispatcher = run(stream)

    with caplog.at_level(logging.ERROR, logger="notify.services.outbox.engine"):
        dispatcher.wake("scripted")
        wait_for(lambda: stream.outcomes() == {"a": 1}, timeout=5, what="the retried claim")

    [record] = [r for r in caplog.records if r.name == "notify.services.outbox.engine"]
    assert record.getMessage() == "outbox: claim on scripted failed; retrying shortly"
    assert record.exc_info and str(record.exc_info[1]) == "Postgres is restarting"
    assert set(stream.log_streams) == {"scripted"}  # claims log with their stream too


def test_a_claim_that_keeps_failing_is_retried_after_a_pause_not_at_once(
    run: Any, settings: Any
) -> None:
    """Postgres away is not hammered: one claim per NOTIFY_OUTBOX_RETRY_SECONDS."""
    settings.NOTIFY_OUTBOX_RETRY_SECONDS = 0.2
    stream = Scripted()
    stream.add("a")
    stream.claim_errors = 1000
    dispatcher = run(stream)

    dispatcher.wake("scripted")
    time.sleep(0.5)

    tried = 1000 - stream.claim_errors
    assert 1 <= tried <= 5


def test_a_write_that_fails_is_retried_and_holds_back_no_other_claims(
    run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Scripted(limit=1)
    stream.add("a", "b", "c")
    stream.record_errors = {1: 2}  # the first claim's outcomes fail twice
    dispatcher = run(stream)

    with caplog.at_level(logging.ERROR, logger="notify.services.outbox.engine"):
        dispatcher.wake("scripted")
        wait_for(lambda: len(stream.outcomes()) == 3, timeout=10, what="every outcome")

    failures = [r for r in caplog.records if r.name == "notify.services.outbox.engine"]
    assert [r.getMessage() for r in failures] == [
        "outbox: recording 1 outcomes on scripted failed"
    ] * 2
    assert all(r.exc_info and str(r.exc_info[1]) == "Postgres is away" for r in failures)
    # Sends and writes log with their stream.
    assert set(stream.log_streams) == {"scripted"}
    order = [item for _, item, _ in stream.recorded]
    assert order == ["b", "c", "a"]  # a waited for its retries; b and c did not wait for a
    assert stream.outcomes() == {"a": 1, "b": 2, "c": 3}  # each under its own claim's token
    assert [r for _, _, r in stream.recorded] == ["sent b", "sent c", "sent a"]


def test_a_send_that_raises_frees_its_slot_and_is_left_to_the_lease(
    run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Scripted(limit=2)
    stream.add("a", "bad", "c")
    stream.raises = {"bad"}
    dispatcher = run(stream)
    with caplog.at_level(logging.ERROR, logger="notify.services.outbox.engine"):
        dispatcher.wake("scripted")
        wait_for(lambda: set(stream.outcomes()) == {"a", "c"}, timeout=5, what="the good sends")
    [record] = [r for r in caplog.records if r.name == "notify.services.outbox.engine"]
    assert record.getMessage() == "outbox: send on scripted raised"
    assert record.exc_info and str(record.exc_info[1]) == "the stream's own guard failed"
    # Whatever a send or a write logs carries the stream it belongs to.
    assert set(stream.log_streams) == {"scripted"}

    stream.add("d", "e")  # both slots are free again
    dispatcher.wake("scripted")

    wait_for(lambda: {"d", "e"} <= set(stream.outcomes()), timeout=5, what="the next claim")
    assert "bad" not in stream.outcomes()
    assert [items for _, items in stream.claims if items][-1] == ["d", "e"]


def test_a_write_that_keeps_failing_is_given_up_after_its_tries_and_left_to_the_leases(
    run: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NOTIFY_OUTBOX_RECORD_TRIES = 3
    settings.NOTIFY_OUTBOX_RETRY_SECONDS = 0.05
    stream = Scripted(limit=1)
    stream.add("a", "b")
    # The first claim's outcomes can never be written; the second's on their third try, in
    # the same passes: giving up on the first must not drop the second.
    stream.record_errors = {1: 100, 2: 2}
    dispatcher = run(stream)

    with caplog.at_level(logging.ERROR, logger="notify.services.outbox.engine"):
        dispatcher.wake("scripted")
        wait_for(lambda: stream.outcomes() == {"b": 2}, timeout=5, what="the other claim")
        wait_for(
            lambda: any("left to the sweeper" in r.getMessage() for r in caplog.records),
            timeout=5,
            what="the write given up",
        )
    time.sleep(0.3)  # six pauses: a write given up is not tried again

    assert stream.record_errors == {1: 97, 2: 0}  # the first tried exactly three times
    assert "a" not in stream.outcomes()  # its lease runs out; the sweeper settles it
    [given_up] = [r for r in caplog.records if "left to the sweeper" in r.getMessage()]
    assert given_up.getMessage() == "outbox: 1 outcomes on scripted left to the sweeper"
