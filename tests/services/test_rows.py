"""rows_insert writes what bulk_create would: every column, JSON as JSON, NULLs as NULL, the
auto_now times on the objects and in the rows, and the objects marked as saved."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Delivery, Notification, Recipient
from notify.services.rows import rows_insert

pytestmark = pytest.mark.django_db


def test_rows_read_back_as_the_objects_that_were_inserted() -> None:
    person = Recipient.objects.create(tenant="default", external_id="r-1", email="a@example.com")
    content = {"email": {"subject": "Hi 'there'", "text": "é \\ %s %(x)s", "headers": {}}}
    notification = Notification(
        recipient=person,
        content=content,
        channel_order=["email"],
        idempotency_key=None,
        send_at=None,
    )
    deliveries = [
        Delivery(notification=notification, channel="email", to="a@example.com", next_attempt_at=t)
        for t in (person.created_at, person.updated_at)
    ]

    rows_insert(Notification, [notification])
    rows_insert(Delivery, deliveries)

    stored = Notification.objects.get(pk=notification.pk)
    assert stored.content == content
    assert stored.channel_order == ["email"]
    assert stored.digest_data is None and stored.idempotency_key is None
    assert stored.created_at == notification.created_at is not None
    assert not notification._state.adding
    rows = list(Delivery.objects.filter(notification=stored).order_by("created_at"))
    assert [d.pk for d in rows] == [d.pk for d in deliveries]
    assert [d.next_attempt_at for d in rows] == [person.created_at, person.updated_at]
    assert all(d.created_at == d.updated_at for d in rows)
    assert rows[0].status == "pending" and rows[0].max_attempts == deliveries[0].max_attempts


def test_nothing_to_insert_is_no_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        rows_insert(Notification, [])
