"""Opening or counting into digests in one statement: flush times in the recipient's zone, a
full digest due at once."""

from __future__ import annotations

import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notify.models import Digest, Notification, Recipient
from notify.services.digests.opening import Wanted, digests_upsert


def _notification(person: Recipient) -> Notification:
    return Notification(
        recipient=person, category="news", content={"email": {"subject": "s"}}, channel_order=[]
    )


@pytest.fixture
def people(db: Any) -> list[Recipient]:
    return [Recipient.objects.create(external_id=f"p{i}", timezone="Europe/Paris") for i in (1, 2)]


def test_one_statement_opens_new_digests_and_counts_into_open_ones(people: list[Recipient]) -> None:
    ada, bob = people
    now = timezone.now()

    def upsert(*wanted: tuple[Recipient, str]) -> tuple[dict[Any, Digest], int]:
        rows: list[Wanted] = [
            (_notification(p), p, [], key, "daily@09:00", 1000) for p, key in wanted
        ]
        return digests_upsert(
            tenant="default", api_key=None, first=rows[0][0], template="t", wanted=rows, now=now
        )

    with CaptureQueriesContext(connection) as queries:
        first, opened = upsert((ada, "k"), (ada, "k"), (bob, "k"))
    assert len(queries) == 1 and opened == 2
    second, opened = upsert((ada, "k"), (ada, "other"))
    assert opened == 1
    assert second[(ada.pk, "k")].id == first[(ada.pk, "k")].id
    assert sorted(Digest.objects.values_list("recipient__external_id", "key", "count")) == [
        ("p1", "k", 3),
        ("p1", "other", 1),
        ("p2", "k", 1),
    ]
    # 09:00 in Paris, after `now`.
    flush_at = Digest.objects.get(recipient=ada, key="k").flush_at
    local = flush_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert flush_at > now and (local.hour, local.minute) == (9, 0)


def test_a_full_digest_is_due_at_once(people: list[Recipient]) -> None:
    ada = people[0]
    rows: list[Wanted] = [(_notification(ada), ada, [], "k", "daily@09:00", 2) for _ in range(2)]
    digests_upsert(
        tenant="default",
        api_key=None,
        first=rows[0][0],
        template="t",
        wanted=rows,
        now=timezone.now(),
    )
    assert Digest.objects.get().flush_at <= timezone.now()
