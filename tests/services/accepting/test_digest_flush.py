"""Exactly once: two flushers on their own connections, a lease taken over from a worker
that stalled, and a message that arrives while its digest is being flushed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from notify.models import ApiKey, Delivery, Digest, Notification, Template
from notify.services.accepting.batch import notification_submit
from notify.services.accepting.digest_flush import (
    DigestStream,
    digest_flush,
    digests_claim,
    digests_flush,
)
from notify.services.digests.gathering import digests_flush_now
from tests.conftest import Stack

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATE = {"email": {"subject": "{{ digest.count }} new", "text": "{{ body }}"}}


def _join(api_key: ApiKey, who: str, n: int) -> Notification:
    data = {
        "recipient": {"id": who, "email": f"{who}@example.com"},
        "template": "t",
        "data": {"body": f"m{n}"},
        "digest": {"key": "k", "window": "1h"},
    }
    return notification_submit(
        api_key=api_key, data=data, idempotency_key=None, fingerprint=""
    ).notification


def _in_thread(target: Callable[[], Any]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture(autouse=True)
def _no_background_worker(_stack_session: Stack) -> None:
    """The rows here are committed: a worker an earlier test left running would flush the
    digests too (correctly, but then these flushers are not the only ones). Stop it; the
    next test that asks for `stack` starts it again."""
    _stack_session.stop()


@pytest.fixture
def key(api_key: tuple[ApiKey, str]) -> ApiKey:
    Template.objects.create(tenant=api_key[0].tenant, key="t", content=TEMPLATE)
    return api_key[0]


def test_two_flushers_send_each_digest_exactly_once(key: ApiKey) -> None:
    people = [f"p{i}" for i in range(40)]
    joined = [_join(key, who, n) for n in range(2) for who in people]
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    results: list[list[Any]] = [[], []]
    start = threading.Barrier(2)

    def flusher(out: list[Any]) -> Callable[[], None]:
        def run() -> None:
            start.wait()
            while True:
                token, ids = digests_claim(limit=3)
                if not ids:
                    return
                out.extend(digest_flush(digest_id=i, token=token) for i in ids)

        return run

    threads = [_in_thread(flusher(out)) for out in results]
    for thread in threads:
        thread.join(30)

    sent = [r for out in results for r in out if r.status == "sent"]
    assert len(sent) == len(people)
    assert all(results)  # both flushers took part
    digests = Notification.objects.filter(
        digest__isnull=True, idempotency_key__startswith="digest:"
    )
    assert digests.count() == len(people)
    assert {n.content["email"]["subject"] for n in digests} == {"2 new"}
    assert set(Digest.objects.values_list("status", flat=True)) == {"sent"}
    carried = [i for d in Digest.objects.all() for i in d.item_ids]
    assert sorted(carried) == sorted(str(n.pk) for n in joined)


def test_a_flush_under_a_lease_taken_over_does_nothing(key: ApiKey) -> None:
    _join(key, "ada", 1)
    digest = Digest.objects.get()
    digests_flush_now(digest_ids=[digest.pk])
    stale, _ = digests_claim(limit=1)
    # The first claimant stalls past its lease; another worker takes the digest over.
    Digest.objects.filter(pk=digest.pk).update(lease_until="2000-01-01T00:00:00Z")
    fresh, (taken,) = digests_claim(limit=1)
    assert digest_flush(digest_id=digest.pk, token=stale).status == ""
    assert digest_flush(digest_id=taken, token=fresh).status == "sent"
    assert digest_flush(digest_id=taken, token=fresh).status == ""  # and only once
    assert Notification.objects.filter(idempotency_key=f"digest:{digest.pk}").count() == 1


def test_a_message_arriving_during_a_flush_is_in_that_digest_or_the_next(key: ApiKey) -> None:
    _join(key, "ada", 1)
    first = Digest.objects.get()
    digests_flush_now(digest_ids=[first.pk])
    token, _ = digests_claim(limit=1)
    locked, release = threading.Event(), threading.Event()
    arrived: list[Notification] = []

    def flush_slowly() -> None:
        with transaction.atomic():
            # The flush holds the digest's row, as digest_flush does, while a message comes.
            Digest.objects.select_for_update().get(pk=first.pk)
            locked.set()
            release.wait(10)
            digest_flush(digest_id=first.pk, token=token)

    flusher = _in_thread(flush_slowly)
    locked.wait(10)
    joiner = _in_thread(lambda: arrived.append(_join(key, "ada", 2)))
    joiner.join(0.5)
    assert joiner.is_alive()  # waits for the flush's lock rather than joining a closing digest
    release.set()
    flusher.join(10)
    joiner.join(10)

    first.refresh_from_db()
    (late,) = arrived
    late.refresh_from_db()
    assert first.status == "sent" and len(first.item_ids) == 1
    assert late.digest_id is not None and late.digest_id != first.pk
    assert Digest.objects.get(pk=late.digest_id).status == "open"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM notify_digest WHERE status = 'open'")
        assert cursor.fetchone()[0] == 1
    assert uuid.UUID(str(late.digest_id))


def _flush_all(chunk_of: int = 500) -> dict[Any, Any]:
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    token, ids = digests_claim(limit=chunk_of)
    return digests_flush(digest_ids=ids, token=token)


def test_a_chunk_sends_each_digest_with_its_own_messages(key: ApiKey) -> None:
    people = [f"c{i}" for i in range(6)]
    joined: dict[str, list[Notification]] = {who: [] for who in people}
    for i, who in enumerate(people):
        for n in range(i + 1):  # c0 has one message, c5 six
            joined[who].append(_join(key, who, n))

    results = _flush_all()

    assert {r.status for r in results.values()} == {"sent"}
    for i, who in enumerate(people):
        digest = Digest.objects.get(recipient__external_id=who)
        sent = Notification.objects.get(idempotency_key=f"digest:{digest.pk}")
        assert digest.status == "sent" and digest.notification_id == sent.pk
        assert digest.item_ids == [str(n.pk) for n in joined[who]]  # oldest first
        assert sent.content["email"]["subject"] == f"{i + 1} new"
        assert sent.content["email"]["text"] == f"m{i}"  # the newest message's data
        assert sent.recipient.external_id == who
        (delivery,) = sent.deliveries.all()
        assert (delivery.status, delivery.to) == ("pending", f"{who}@example.com")
        for message in joined[who]:
            (held,) = message.deliveries.all()
            assert (held.status, held.error_code) == ("skipped", "digested")
            assert held.last_error == f"sent in digest {digest.pk} as notification {sent.pk}"


def test_a_chunk_costs_the_same_queries_for_ten_digests_as_for_two(key: ApiKey) -> None:
    def cost(people: list[str]) -> int:
        for who in people:
            _join(key, who, 1)
            _join(key, who, 2)
        with CaptureQueriesContext(connection) as queries:
            results = _flush_all()
        assert [r.status for r in results.values()] == ["sent"] * len(people)
        return len(queries)

    assert cost(["q1", "q2"]) == cost([f"r{i}" for i in range(10)])


def test_a_digest_that_cannot_be_built_fails_alone_and_the_chunk_goes_out(key: ApiKey) -> None:
    for who in ("ada", "bob", "cy"):
        _join(key, who, 1)
    broken = Digest.objects.get(recipient__external_id="bob")
    # Its template was deleted while it gathered.
    Digest.objects.filter(pk=broken.pk).update(template_key="gone")
    emptied = Digest.objects.get(recipient__external_id="cy")
    Delivery.objects.filter(notification__digest=emptied).update(status="cancelled")

    results = _flush_all()

    assert results[broken.pk].status == "failed"
    assert "No template with key 'gone'" in results[broken.pk].error
    assert results[emptied.pk].status == "cancelled"
    assert Digest.objects.get(recipient__external_id="ada").status == "sent"
    (held,) = Delivery.objects.filter(notification__digest=broken)
    assert (held.status, held.error_code) == ("skipped", "digest_failed")
    assert Notification.objects.filter(idempotency_key__startswith="digest:").count() == 1


def test_the_stream_claims_due_digests_in_chunks(key: ApiKey) -> None:
    for i in range(5):
        _join(key, f"s{i}", 1)
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    stream = DigestStream(limit=4, chunk=2)

    claimed = stream.claim(2)  # room for two chunks of two: four of the five
    assert [len(ids) for ids, _ in claimed.items] == [2, 2] and claimed.more
    for item in claimed.items:
        assert {r.status for r in stream.send(item).values()} == {"sent"}
    last = stream.claim(2)
    assert [len(ids) for ids, _ in last.items] == [1] and not last.more
    assert stream.send(last.items[0])
    assert stream.claim(2).items == []
    assert set(Digest.objects.values_list("status", flat=True)) == {"sent"}


def test_a_digest_that_breaks_its_chunk_holds_back_only_itself(key: ApiKey) -> None:
    for who in ("ada", "bob", "cy"):
        _join(key, who, 1)
    poisoned = Digest.objects.get(recipient__external_id="bob")
    # Data no request could carry (a list, not an object): building its context raises.
    Notification.objects.filter(digest=poisoned).update(digest_data=["not", "an", "object"])
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    token, ids = digests_claim(limit=10)

    results = DigestStream(limit=1).send((ids, token))

    assert results[poisoned.pk].status == "" and "TypeError" in results[poisoned.pk].error
    assert sorted(Digest.objects.values_list("recipient__external_id", "status")) == [
        ("ada", "sent"),
        ("bob", "open"),  # left under its lease, to be tried again
        ("cy", "sent"),
    ]
