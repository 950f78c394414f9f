"""Preferences: what a recipient gets per category and channel (their choice, else the
category's default), digests, and the built-in "general" category made on first use."""

from __future__ import annotations

import pytest

from notify.models import Category, DigestChoice, Preference, Recipient
from notify.services.recipients.categories import category_save
from notify.services.recipients.preferences import (
    UnknownCategory,
    digest_choice_set,
    preferences_read,
    preferences_set,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def person() -> Recipient:
    return Recipient.objects.create(tenant="t", external_id="u-1")


def test_a_category_is_created_then_updated_in_place() -> None:
    first = category_save(tenant="t", key="news", name="News", default_channels=["email"])
    again = category_save(tenant="t", key="news", name="Newsletter")
    assert again.pk == first.pk
    assert Category.objects.get(pk=first.pk).name == "Newsletter"


def test_reading_gives_choices_over_the_categorys_defaults(person: Recipient) -> None:
    category_save(tenant="t", key="news", default_channels=["email"])
    category_save(tenant="t", key="alerts")  # no defaults: every channel
    category_save(tenant="other", key="hidden")
    preferences_set(recipient=person, choices={"news": {"sms": True, "email": False}})

    assert preferences_read(recipient=person) == {
        "alerts": {"email": True, "sms": True, "push": True},
        "news": {"email": False, "sms": True, "push": False},
    }


def test_digest_choices_are_read_back_and_cleared_with_an_empty_rule(person: Recipient) -> None:
    category_save(tenant="t", key="news")
    preferences_set(recipient=person, choices={"news": {"digest": "daily@18:00"}})
    assert preferences_read(recipient=person)["news"]["digest"] == "daily@18:00"

    news = Category.objects.get(key="news")
    digest_choice_set(recipient=person, category=news, rule="")
    assert not DigestChoice.objects.exists()
    assert "digest" not in preferences_read(recipient=person)["news"]


def test_general_is_created_on_first_use_and_other_unknown_keys_refused(
    person: Recipient,
) -> None:
    preferences_set(recipient=person, choices={"general": {"push": False}})
    assert Category.objects.get(tenant="t", key="general").name == "General"

    with pytest.raises(UnknownCategory):
        preferences_set(recipient=person, choices={"general": {"sms": False}, "nope": {}})
    # All or nothing: the valid part of a refused call is not kept either.
    assert list(Preference.objects.values_list("channel", "enabled")) == [("push", False)]
