"""Dead letters: replaying failed deliveries, by ids or by what went wrong, once, within a
tenant, and on record."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Delivery, DeliveryAttempt
from notify.models.operations import Replay
from notify.services.operations.replay import deliveries_filter, deliveries_replay
from tests.services import rows


def _failed(name: str, *, tenant: str = "default", code: str = "smtp_554", **fields: Any) -> Any:
    notification = rows.notification_for(name, tenant=tenant)
    [delivery] = rows.deliveries(
        notification, 1, status="failed", attempts=5, error_code=code, **fields
    )
    return delivery


def test_a_replay_moves_failed_deliveries_back_once_with_a_fresh_budget(db: Any) -> None:
    failed = _failed("r-1")
    sent = _failed("r-2")
    Delivery.objects.filter(id=sent.id).update(status="sent")

    first = deliveries_replay(delivery_ids=[failed.id, sent.id], requested_by="ops", source="api")
    second = deliveries_replay(delivery_ids=[failed.id], requested_by="ops", source="api")

    assert (first.count, second.count) == (1, 0)
    row = Delivery.objects.get(id=failed.id)
    assert (row.status, row.error_code, row.attempts, row.max_attempts) == ("pending", "", 5, 10)
    assert Delivery.objects.get(id=sent.id).status == "sent"
    recorded = Replay.objects.get(id=first.id)
    assert (recorded.requested_by, recorded.source, recorded.count) == ("ops", "api", 1)
    assert recorded.filter == {"ids": [str(failed.id), str(sent.id)]}


def test_a_tenants_replay_never_reaches_another_tenants_deliveries(db: Any) -> None:
    mine = _failed("r-mine", tenant="a")
    theirs = _failed("r-theirs", tenant="b")

    replay = deliveries_replay(
        delivery_ids=[mine.id, theirs.id], requested_by="key", source="api", tenant="a"
    )

    assert replay.count == 1
    assert Delivery.objects.get(id=theirs.id).status == "failed"
    assert Replay.objects.get(id=replay.id).tenant == "a"


def test_a_replay_by_filter_takes_only_what_matches(db: Any) -> None:
    bounced = _failed("r-f1", code="smtp_554")
    _failed("r-f2", code="http_500")
    sms = _failed("r-f3", code="smtp_554", channel="sms", to="+14155551000")

    replay = deliveries_replay(
        filter={"channel": "email", "error_code": "smtp_554", "provider": None},
        requested_by="ops",
        source="admin",
    )

    assert replay.count == 1
    assert set(Delivery.objects.filter(status="pending").values_list("id", flat=True)) == {
        bounced.id
    }
    assert Delivery.objects.get(id=sms.id).status == "failed"
    assert replay.filter == {"channel": "email", "error_code": "smtp_554"}


def test_the_outcome_filter_reads_the_last_attempt(db: Any) -> None:
    delivery = _failed("r-o")
    for number, outcome in ((1, "transient"), (2, "permanent")):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            provider="smtp",
            outcome=outcome,
            started_at=delivery.next_attempt_at,
        )

    def matching(outcome: str) -> list[Any]:
        return list(
            deliveries_filter(Delivery.objects.all(), outcome=outcome).values_list("id", flat=True)
        )

    assert (matching("permanent"), matching("transient")) == ([delivery.id], [])


def test_ids_or_a_filter_exactly_one(db: Any) -> None:
    with pytest.raises(ValueError, match="either"):
        deliveries_replay(requested_by="ops", source="api")
    with pytest.raises(ValueError, match="either"):
        deliveries_replay(delivery_ids=[], filter={}, requested_by="ops", source="api")
    assert not Replay.objects.exists()
