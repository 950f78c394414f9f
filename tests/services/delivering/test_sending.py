"""Claiming due deliveries, against the real Postgres: exclusive claims within the limit, the
lanes and their order, concurrent claims on two connections, deliveries whose worker died
(claimed one at a time, after the others), and what a claimed delivery loads.

These run inside the test's transaction (`db`): the rows are never committed, so a worker
that another test module left running can never see, let alone claim, them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from django.utils import timezone

from notify.models import Delivery, Notification, Recipient
from notify.models.notifications import Priority
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from tests.services import rows
from tests.services.rows import deliveries


def test_claims_are_exclusive_and_take_at_most_the_limit(notification: Notification) -> None:
    created = {d.id for d in deliveries(notification, 10)}

    token_a, first = deliveries_claim(channel="email", lane="standard", limit=6)
    token_b, second = deliveries_claim(channel="email", lane="standard", limit=6)
    _, third = deliveries_claim(channel="email", lane="standard", limit=6)

    assert (len(first), len(second), third) == (6, 4, [])
    assert token_a != token_b
    first_ids, second_ids = {d.id for d in first}, {d.id for d in second}
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == created
    for token, ids in ((token_a, first_ids), (token_b, second_ids)):
        rows = Delivery.objects.filter(id__in=ids)
        assert {(r.status, r.attempts, r.lease_token) for r in rows} == {("sending", 1, token)}
        assert all(r.lease_until is not None and r.lease_until > timezone.now() for r in rows)


def test_a_claim_returns_what_a_send_needs(notification: Notification) -> None:
    deliveries(notification, 1)

    _, [claimed] = deliveries_claim(channel="email", lane="standard", limit=10)

    assert claimed.to == "0@example.com"
    assert claimed.attempts == 1
    assert claimed.notification.content["email"] == {"subject": "s", "text": "t"}


def test_a_claim_leaves_future_other_channel_and_non_pending_work(
    notification: Notification,
) -> None:
    due = deliveries(notification, 2)
    later = deliveries(notification, 3, due_in=timedelta(minutes=5))
    sms = deliveries(notification, 2, channel="sms")
    for status in ("failed", "sent", "cancelled", "skipped", "sending"):
        deliveries(notification, 1, status=status)

    _, claimed = deliveries_claim(channel="email", lane="standard", limit=100)

    assert {d.id for d in claimed} == {d.id for d in due}
    untouched = Delivery.objects.filter(id__in=[d.id for d in later + sms])
    assert {(d.status, d.attempts, d.lease_token) for d in untouched} == {("pending", 0, None)}


def test_the_urgent_lane_claims_only_critical_and_high(notification: Notification) -> None:
    critical = deliveries(notification, 1, priority=Priority.CRITICAL)
    high = deliveries(notification, 1, priority=Priority.HIGH)
    normal = deliveries(notification, 1, priority=Priority.NORMAL)
    low = deliveries(notification, 1, priority=Priority.LOW)

    _, urgent = deliveries_claim(channel="email", lane="urgent", limit=100)
    _, standard = deliveries_claim(channel="email", lane="standard", limit=100)

    assert {d.id for d in urgent} == {critical[0].id, high[0].id}
    assert {d.id for d in standard} == {normal[0].id, low[0].id}


def test_the_standard_lane_takes_the_most_urgent_first(notification: Notification) -> None:
    deliveries(notification, 2, priority=Priority.LOW)
    high = deliveries(notification, 2, priority=Priority.HIGH)

    _, claimed = deliveries_claim(channel="email", lane="standard", limit=2)

    assert {d.id for d in claimed} == {d.id for d in high}


def test_concurrent_claims_on_two_connections_never_take_the_same_delivery(
    transactional_db: Any,
) -> None:
    """Two workers claim at the same moment: the second skips the rows the first holds
    (FOR UPDATE SKIP LOCKED) instead of waiting for them and claiming them again."""
    import threading

    from django.db import connection, transaction

    recipient = Recipient.objects.create(external_id="u-race")
    notification = Notification.objects.create(recipient=recipient, content={})
    # A channel no worker serves: a worker another test left running never claims these.
    created = {d.id for d in deliveries(notification, 10, channel="claim-race")}
    first_holds = threading.Event()
    second_done = threading.Event()
    claimed: dict[str, list[Delivery]] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                claimed["first"] = deliveries_claim(channel="claim-race", lane="standard", limit=5)[
                    1
                ]
                first_holds.set()
                second_done.wait(timeout=2)  # hold the row locks while the second claims
        finally:
            connection.close()

    def second() -> None:
        try:
            first_holds.wait(timeout=5)
            claimed["second"] = deliveries_claim(channel="claim-race", lane="standard", limit=10)[1]
            second_done.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    first_ids = {d.id for d in claimed["first"]}
    second_ids = {d.id for d in claimed["second"]}
    assert len(first_ids) == 5 and len(second_ids) == 5
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == created
    attempts = Delivery.objects.filter(id__in=created).values_list("attempts", flat=True)
    assert set(attempts) == {1}


def test_deliveries_whose_worker_died_are_claimed_one_at_a_time_after_the_others(
    db: Any, provider_state: redis.Redis
) -> None:
    notification = rows.notification_for("u-lost")
    lost = rows.deliveries(notification, 2, to="lost-{i}@example.com", error_code="worker_lost")
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    # The urgent lane does not take normal-priority work, quarantined or not.
    urgent = DeliveryStream(channel="email", lane="urgent", limit=10).claim(10)
    claimed = stream.claim(10)

    assert (urgent.items, urgent.more) == ([], False)
    [item] = claimed.items
    assert item.delivery.id in {d.id for d in lost}
    # One at a time, but the next one is due: claim again without waiting.
    assert (claimed.more, claimed.wait) == (True, 0)
    statuses = Delivery.objects.filter(notification=notification).values_list("status", "attempts")
    assert sorted(statuses) == [("pending", 0), ("sending", 1)]


def test_the_quarantined_claim_takes_only_deliveries_whose_worker_died(
    notification: Notification,
) -> None:
    [lost] = deliveries(notification, 1, error_code="worker_lost")
    [ordinary] = deliveries(notification, 1)

    _, quarantined = deliveries_claim(channel="email", lane="standard", limit=10, quarantined=True)
    _, rest = deliveries_claim(channel="email", lane="standard", limit=10)

    assert ([d.id for d in quarantined], [d.id for d in rest]) == ([lost.id], [ordinary.id])


def test_a_claimed_delivery_reads_what_the_claim_did_not_load_from_the_database(
    notification: Notification,
) -> None:
    """The claim loads only what a send needs; any other field is read on first use, as
    the ORM does for .only(), never seen as empty."""
    [created] = deliveries(notification, 1)

    _, [claimed] = deliveries_claim(channel="email", lane="standard", limit=1)

    assert (claimed.status, claimed.lease_token) == (
        "sending",
        Delivery.objects.get(id=created.id).lease_token,
    )
    assert claimed.created_at == created.created_at
    assert claimed.notification.recipient_id == notification.recipient_id
