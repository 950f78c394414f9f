"""rows_insert writes what bulk_create would: every column, JSON as JSON, NULLs as NULL, the
auto_now times on the objects and in the rows, and the objects marked as saved; row_build
makes the instance the model's constructor makes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from django.db.models.signals import post_init

from notify.models import Delivery, Device, Notification, Recipient
from notify.models.notifications import DeliveryStatus, Priority
from notify.services.rows import _writer, row_build, rows_insert

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


def _state_of(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An instance's attributes (the generated id left out) and its ModelState."""
    attrs = {k: v for k, v in vars(obj).items() if k not in ("_state", "id")}
    return attrs, vars(obj._state)


def test_row_build_makes_the_instance_the_constructor_makes() -> None:
    person = Recipient.objects.create(tenant="default", external_id="r-2", email="b@example.com")
    given: dict[str, Any] = {"tenant": "t", "recipient": person, "content": {"sms": {}}}
    built, constructed = row_build(Notification, **given), Notification(**given)
    assert list(vars(built)) == list(vars(constructed))  # every field, in the same order
    assert _state_of(built) == _state_of(constructed)
    assert built._state.fields_cache == {"recipient": person} and built._state.db == "default"
    assert built.id.version == 7 and built.id != constructed.id
    assert built.channel_order == [] and built.channel_order is not constructed.channel_order

    extra = {"channel": "push", "device_id": None, "next_attempt_at": person.created_at}
    delivery = row_build(Delivery, notification=built, **extra)
    assert _state_of(delivery) == _state_of(Delivery(notification=built, **extra))
    assert delivery.notification_id == built.id
    by_id = {"recipient_id": person.pk, "token": "tok", "platform": "ios"}  # a relation's id
    assert _state_of(row_build(Device, **by_id)) == _state_of(Device(**by_id))


def test_row_build_leaves_what_it_does_not_cover_to_the_constructor() -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        row_build(Notification, tenant="t", no_such_field=1)
    seen: list[Any] = []

    def listener(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(listener, sender=Notification)
    try:
        built = row_build(Notification, tenant="t")
    finally:
        post_init.disconnect(listener, sender=Notification)
    assert seen == [built]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        (True, "t"),
        (False, "f"),
        (7, "7"),
        (Priority.HIGH, str(int(Priority.HIGH))),
        (DeliveryStatus.PENDING, "pending"),
        ("a\tb\nc\\d\re", "a\\tb\\nc\\\\d\\re"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05+00:00"),
        (UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ],
)
def test_copy_text_per_type(value: Any, text: str) -> None:
    assert _writer(type(value))(value) == text
    assert _writer(type(value))(value) == text  # remembered, same answer


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        _writer(datetime)(datetime(2026, 1, 2))


@pytest.mark.parametrize(
    "text", ["", "plain", "\\", "\\t", "a\tb", "\r\n", "\\\\n\n", '{"t": "x\\ny"}', "é\t\\\u2028"]
)
def test_escaping_is_copy_s_one_character_at_a_time(text: str) -> None:
    # COPY's text format: each of the four characters replaced on its own.
    table = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
    assert _writer(str)(text) == text.translate(table)
