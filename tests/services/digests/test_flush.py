"""Exactly once: two flushers on their own connections, a lease taken over from a worker
that stalled, and a message that arrives while its digest is being flushed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from notify.models import ApiKey, Digest, Notification, Template
from notify.services.accepting.submission import notification_submit
from notify.services.digests.flush import digest_flush, digests_claim
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
