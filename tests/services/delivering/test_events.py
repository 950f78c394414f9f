"""Delivery changes reach deliveries_changed receivers only once the transaction commits, and a
failing receiver neither breaks the caller nor stops the other receivers."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import transaction

from notify.services.delivering.events import DeliveryChange, changes_emit
from notify.signals import deliveries_changed

CHANGE = DeliveryChange(delivery_id="d1", notification_id="n1", channel="email", status="sent")


@pytest.fixture
def received() -> Any:
    got: list[list[DeliveryChange]] = []

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("observer broke")

    def keep(sender: Any, *, changes: list[DeliveryChange], **kwargs: Any) -> None:
        got.append(changes)

    deliveries_changed.connect(broken, dispatch_uid="test-broken")
    deliveries_changed.connect(keep, dispatch_uid="test-keep")
    yield got
    deliveries_changed.disconnect(dispatch_uid="test-broken")
    deliveries_changed.disconnect(dispatch_uid="test-keep")


def test_changes_are_sent_after_commit_and_a_broken_receiver_is_logged(
    transactional_db: Any, received: list[list[DeliveryChange]], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="notify.services.delivering.events"):
        with transaction.atomic():
            changes_emit([CHANGE])
            assert received == []  # not before the commit
        assert received == [[CHANGE]]
    assert any("observer broke" in r.getMessage() for r in caplog.records)


def test_a_rolled_back_change_is_never_sent(
    transactional_db: Any, received: list[list[DeliveryChange]]
) -> None:
    with pytest.raises(ValueError), transaction.atomic():
        changes_emit([CHANGE])
        raise ValueError("rolled back")
    changes_emit([])  # nothing to say: nothing sent
    assert received == []
