"""Recipient upserts: the single-statement create must behave like get-or-create, including
when another request created the same person a moment earlier."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notify.models import Device, Recipient
from notify.services.recipients.recipients import (
    device_register,
    devices_register_many,
    recipient_upsert,
    recipients_upsert_many,
)

pytestmark = pytest.mark.django_db


def test_a_new_recipient_is_created_with_its_contact_points() -> None:
    row = recipient_upsert(tenant="t", external_id="new", email="new@example.com")
    stored = Recipient.objects.get(tenant="t", external_id="new")
    assert (row.pk, stored.email) == (stored.pk, "new@example.com")


def test_a_recipient_created_concurrently_is_found_and_updated_not_duplicated() -> None:
    theirs = Recipient.objects.create(tenant="t", external_id="race", email="old@example.com")
    # This request read the table before the other one committed: it saw nobody.
    row = recipient_upsert(tenant="t", external_id="race", stored=None, phone="+14155552671")
    assert row.pk == theirs.pk
    stored = Recipient.objects.get(pk=theirs.pk)
    assert (stored.email, stored.phone) == ("old@example.com", "+14155552671")
    assert Recipient.objects.filter(external_id="race").count() == 1


def test_bulk_upsert_of_a_recipient_created_concurrently_merges_into_theirs() -> None:
    theirs = Recipient.objects.create(tenant="t", external_id="race", email="old@example.com")
    # This batch read the table before the other request committed: it saw nobody.
    rows = recipients_upsert_many(
        tenant="t",
        people=[{"id": "race", "phone": "+14155552671"}, {"id": "new", "email": "n@example.com"}],
        stored={},
    )
    assert rows["race"].pk == theirs.pk
    stored = Recipient.objects.get(pk=theirs.pk)
    assert (stored.email, stored.phone) == ("old@example.com", "+14155552671")
    assert Recipient.objects.get(external_id="new").pk == rows["new"].pk
    assert Recipient.objects.filter(tenant="t").count() == 2


def test_bulk_upsert_merges_like_the_single_one() -> None:
    Recipient.objects.create(tenant="t", external_id="a", email="a@example.com", locale="fr")
    rows = recipients_upsert_many(
        tenant="t",
        people=[{"id": "a", "phone": "+14155552671"}, {"id": "b", "email": "b@example.com"}],
    )
    a = Recipient.objects.get(external_id="a")
    assert (a.email, a.phone, a.locale) == ("a@example.com", "+14155552671", "fr")
    assert rows["b"].pk == Recipient.objects.get(external_id="b").pk
    assert Recipient.objects.count() == 2


def _people(prefix: str, n: int) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "push_tokens": [f"{prefix}{i}-a", {"token": f"{prefix}{i}-b"}]}
        for i in range(n)
    ]


def test_bulk_upsert_registers_push_tokens_in_a_fixed_number_of_queries() -> None:
    def run(people: list[dict[str, Any]]) -> int:
        with CaptureQueriesContext(connection) as queries:
            recipients_upsert_many(tenant="t", people=people)
        return len(queries)

    for prefix, n in (("small", 5), ("big", 50)):  # half known and dead, half new
        for person in _people(prefix, n)[::2]:
            known = Recipient.objects.create(tenant="t", external_id=person["id"])
            Device.objects.create(recipient=known, token=f"{person['id']}-a", active=False)

    assert run(_people("small", 5)) == run(_people("big", 50))
    assert Device.objects.count() == 2 * 55
    assert not Device.objects.filter(active=False).exists()


def test_bulk_upsert_revives_a_known_device_like_the_single_one() -> None:
    known = Recipient.objects.create(tenant="t", external_id="a")
    Device.objects.create(
        recipient=known, token="old", platform="ios", active=False, deactivated_reason="gone"
    )
    Device.objects.create(recipient=known, token="alive", platform="android")

    recipients_upsert_many(tenant="t", people=[{"id": "a", "push_tokens": ["old", "alive", "new"]}])

    assert set(Device.objects.values_list("token", "platform", "active", "deactivated_reason")) == {
        ("old", "ios", True, ""),
        ("alive", "android", True, ""),
        ("new", "unknown", True, ""),
    }


def test_a_token_listed_twice_ends_as_repeated_single_registrations_would() -> None:
    one, two = (Recipient.objects.create(tenant="t", external_id=i) for i in ("one", "two"))
    specs = [("tok", "ios"), ("tok", "unknown"), ("tok2", "web"), ("tok2", "android")]
    for token, platform in specs:
        device_register(recipient=one, token=token, platform=platform)

    changed = devices_register_many(tokens=[(two, t, p) for t, p in specs])

    assert len(changed) == 2
    assert sorted(two.devices.values_list("token", "platform")) == sorted(
        one.devices.values_list("token", "platform")
    )


def test_a_dry_run_registration_reports_what_would_change_and_writes_nothing() -> None:
    known = Recipient.objects.create(tenant="t", external_id="a")
    Device.objects.create(recipient=known, token="dead", active=False)
    Device.objects.create(recipient=known, token="alive")
    unsaved = Recipient(tenant="t", external_id="b")

    changed = devices_register_many(
        tokens=[(known, "dead", "ios"), (known, "alive", "unknown"), (unsaved, "t", "web")],
        dry_run=True,
    )

    assert sorted(d.token for d in changed) == ["dead", "t"]
    assert list(Device.objects.filter(active=True).values_list("token", flat=True)) == ["alive"]
    assert Device.objects.count() == 2


def test_removing_a_device_keeps_its_deliveries_with_no_device() -> None:
    from django.utils import timezone

    from notify.models import Delivery, Notification
    from notify.services.recipients.recipients import device_remove

    person = recipient_upsert(tenant="t", external_id="phone-owner")
    device = device_register(recipient=person, token="tok-1", platform="android")
    kept = device_register(recipient=person, token="tok-2", platform="android")
    notification = Notification.objects.create(tenant="t", recipient=person)
    for dev in (device, kept, None):
        Delivery.objects.create(
            notification=notification,
            channel="push" if dev else "email",
            device=dev,
            next_attempt_at=timezone.now(),
        )

    device_remove(device=device)

    assert {
        (d.channel, d.device_id) for d in Delivery.objects.filter(notification=notification)
    } == {("push", None), ("push", kept.pk), ("email", None)}
    assert not Device.objects.filter(pk=device.pk).exists()
