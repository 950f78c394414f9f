"""Recipient upserts: the single-statement create must behave like get-or-create, including
when another request created the same person a moment earlier."""

from __future__ import annotations

import pytest

from notify.models import Recipient
from notify.services.recipients import recipient_upsert, recipients_upsert_many

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
