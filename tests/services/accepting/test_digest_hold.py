"""A large flush creates its digests before it sends them: while a tenant has a chunk's worth
of digests due and unclaimed, a chunk's new deliveries wait, and the tenant's last chunk to
commit releases them all. Chunks of two here (NOTIFY_DIGEST_CHUNK)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.utils import timezone

from notify.models import ApiKey, Delivery, Digest, Template
from notify.services.accepting.batch import notification_submit
from notify.services.accepting.digest_flush import digests_claim, digests_flush
from notify.services.accepting.digest_hold import FLUSH_HELD, deliveries_release
from notify.services.access.apikeys import api_key_create
from notify.services.digests.gathering import digests_flush_now
from notify.services.workers.sweeper import deliveries_sweep
from tests.conftest import Stack

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_chunks_of_two"),
]

TEMPLATE = {"email": {"subject": "{{ digest.count }} new", "text": "{{ body }}"}}
HOLD = 300.0


@pytest.fixture(autouse=True)
def _no_background_worker(_stack_session: Stack) -> None:
    """These flushes are the test's own: a worker left running would claim them too."""
    _stack_session.stop()


@pytest.fixture
def _chunks_of_two(settings: Any) -> None:
    settings.NOTIFY_DIGEST_CHUNK = 2
    settings.NOTIFY_DIGEST_SEND_HOLD_SECONDS = HOLD


def _key(tenant: str) -> ApiKey:
    key, _ = api_key_create(name=tenant, tenant=tenant)
    Template.objects.create(tenant=tenant, key="t", content=TEMPLATE)
    return key


def _joined(key: ApiKey, people: list[str]) -> list[Any]:
    for who in people:
        notification_submit(
            api_key=key,
            data={
                "recipient": {"id": who, "email": f"{who}@example.com"},
                "template": "t",
                "data": {"body": "hi"},
                "digest": {"key": "k", "window": "1h"},
            },
            idempotency_key=None,
            fingerprint="",
        )
    ids = list(Digest.objects.filter(tenant=key.tenant).order_by("pk").values_list("id", flat=True))
    digests_flush_now(digest_ids=ids)
    return ids


def _claim(ids: list[Any]) -> Any:
    """One flusher's claim of exactly these digests."""
    others = Digest.objects.exclude(pk__in=ids).filter(status="open", lease_until__isnull=True)
    kept = list(others.values_list("pk", flat=True))
    others.update(lease_until=timezone.now() + timedelta(minutes=5))  # kept out of this claim
    token, claimed = digests_claim(limit=len(ids))
    Digest.objects.filter(pk__in=kept).update(lease_until=None)
    assert sorted(claimed) == sorted(ids)
    return token


def _flush(ids: list[Any]) -> None:
    digests_flush(digest_ids=ids, token=_claim(ids))


def _sends(tenant: str) -> list[tuple[str, str, bool]]:
    """(to, error_code, due now) of the digests' own email deliveries."""
    now = timezone.now()
    rows = Delivery.objects.filter(
        notification__tenant=tenant, notification__idempotency_key__startswith="digest:"
    )
    return sorted((d.to, d.error_code, d.next_attempt_at <= now) for d in rows)


def test_a_chunk_waits_for_its_tenants_other_due_digests_and_the_last_releases_all() -> None:
    ids = _joined(_key("acme"), ["a0", "a1", "a2", "a3"])

    _flush(ids[:2])  # two digests, a chunk's worth, still due and unclaimed: these wait
    held = Delivery.objects.filter(error_code=FLUSH_HELD)
    assert sorted(d.to for d in held) == ["a0@example.com", "a1@example.com"]
    assert {d.status for d in held} == {"pending"}
    for delivery in held:  # due only at the end of the hold, should no release come
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        assert HOLD - 30 < wait <= HOLD

    _flush(ids[2:])  # the tenant's last chunk: it sends at once and releases the others
    assert _sends("acme") == [(f"a{i}@example.com", "", True) for i in range(4)]
    assert set(Delivery.objects.values_list("lease_token", flat=True)) == {None}


def test_a_chunk_that_commits_after_the_tenants_last_one_releases_itself() -> None:
    ids = _joined(_key("acme"), [f"a{i}" for i in range(6)])
    first = _claim(ids[:2])
    decided, go_on = threading.Event(), threading.Event()

    def slow_chunk() -> None:
        try:
            with transaction.atomic():
                digests_flush(digest_ids=ids[:2], token=first)  # four unclaimed: it holds
                decided.set()
                go_on.wait(10)  # and commits only after the tenant's last chunk has
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_chunk)
    thread.start()
    assert decided.wait(10)
    _flush(ids[2:4])  # holds too
    _flush(ids[4:])  # the last: releases what it can see, which is not the slow chunk's
    assert [e for _, e, _ in _sends("acme")] == ["", "", "", ""]
    go_on.set()
    thread.join(10)

    assert _sends("acme") == [(f"a{i}@example.com", "", True) for i in range(6)]


def test_another_tenants_due_digests_hold_nothing() -> None:
    acme_ids = _joined(_key("acme"), ["a0"])
    globex_ids = _joined(_key("globex"), ["g0", "g1", "g2"])

    _flush([*acme_ids, globex_ids[0]])  # one chunk, two tenants; only globex has more due

    assert _sends("acme") == [("a0@example.com", "", True)]
    assert _sends("globex") == [("g0@example.com", FLUSH_HELD, False)]


def test_fewer_due_digests_than_a_chunk_never_hold(settings: Any) -> None:
    settings.NOTIFY_DIGEST_CHUNK = 5
    ids = _joined(_key("acme"), ["a0", "a1", "a2"])

    _flush(ids[:1])

    assert _sends("acme") == [("a0@example.com", "", True)]


def test_a_hold_of_zero_sends_each_chunk_at_once(settings: Any) -> None:
    settings.NOTIFY_DIGEST_SEND_HOLD_SECONDS = 0
    ids = _joined(_key("acme"), ["a0", "a1", "a2"])

    _flush(ids[:1])

    assert _sends("acme") == [("a0@example.com", "", True)]


def test_a_digest_taken_back_after_its_lease_holds_nothing() -> None:
    ids = _joined(_key("acme"), ["a0", "a1", "a2"])
    _claim(ids[1:])
    # Its flusher died (or its flush keeps failing): the lease ran out, the digests are due
    # again, but not part of the bulk any more.
    Digest.objects.filter(pk__in=ids[1:]).update(lease_until=timezone.now() - timedelta(1))

    _flush(ids[:1])

    assert _sends("acme") == [("a0@example.com", "", True)]


def test_the_sweeper_releases_what_a_lost_worker_held() -> None:
    ids = _joined(_key("acme"), ["a0", "a1", "a2"])
    _flush(ids[:1])
    assert _sends("acme") == [("a0@example.com", FLUSH_HELD, False)]
    # The other digests' flush committed, and its worker died before releasing anything.
    Digest.objects.filter(pk__in=ids[1:]).update(status="cancelled")

    deliveries_sweep()

    assert _sends("acme") == [("a0@example.com", "", True)]


def test_a_release_leaves_a_flushing_tenant_and_retries_alone() -> None:
    acme_ids = _joined(_key("acme"), ["a0", "a1", "a2", "a3"])
    globex_ids = _joined(_key("globex"), ["g0", "g1", "g2"])
    _flush(acme_ids[:1])
    _flush(acme_ids[1:2])
    _flush(globex_ids[:1])  # globex still has two due and unclaimed: it is still flushing
    # A retry in backoff is not a held send.
    Delivery.objects.filter(to="a1@example.com").update(
        error_code="http_503", next_attempt_at=timezone.now() + timedelta(seconds=60)
    )
    Digest.objects.filter(pk__in=acme_ids[2:]).update(status="cancelled")  # acme is done

    assert deliveries_release() == 1  # the sweeper's form: every tenant holding something

    assert _sends("acme") == [("a0@example.com", "", True), ("a1@example.com", "http_503", False)]
    assert _sends("globex") == [("g0@example.com", FLUSH_HELD, False)]
