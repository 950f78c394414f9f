"""Unsubscribe links as the service makes and reads them: an absolute URL only when there is a
public URL, a token that opens to its recipient and category, applying it (an opt-out by
email of that category only), the digest offer, and refusal of tampered or expired tokens.
tests/unsubscribe/ drives the same links through the API and the page."""

from __future__ import annotations

import time
from typing import Any

import pytest
import time_machine

from notify.models import DigestChoice, Preference, Recipient
from notify.services.recipients.unsubscribe import (
    DIGEST_OFFER,
    BadLink,
    ExpiredLink,
    unsubscribe_apply,
    unsubscribe_digest,
    unsubscribe_headers,
    unsubscribe_read,
    unsubscribe_token,
    unsubscribe_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def person() -> Recipient:
    return Recipient.objects.create(tenant="t", external_id="u-1", email="u@example.com")


def test_a_link_is_absolute_or_not_made_at_all(settings: Any, person: Recipient) -> None:
    settings.NOTIFY_PUBLIC_URL = ""
    assert unsubscribe_url(tenant="t", external_id="u-1", category="news") == ""
    assert unsubscribe_headers("") == {}

    settings.NOTIFY_PUBLIC_URL = "https://notify.example.com/"
    url = unsubscribe_url(tenant="t", external_id="u-1", category="news")
    assert url.startswith("https://notify.example.com/u/") and url.endswith("/")
    assert unsubscribe_headers(url) == {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_a_token_opens_to_its_recipient_and_category(person: Recipient) -> None:
    token = unsubscribe_token(tenant="t", external_id="u-1", category="news")
    assert "=" not in token
    assert unsubscribe_read(token=token) == (person, "news")
    # The id is not readable from the link. A dot is outside the token's alphabet (URL-safe
    # base64), so it cannot turn up by chance as "u-1" once did in random ciphertext.
    ada = Recipient.objects.create(tenant="t", external_id="ada.lovelace", email="a@example.com")
    hidden = unsubscribe_token(tenant="t", external_id="ada.lovelace", category="news")
    assert "ada.lovelace" not in hidden and "lovelace" not in hidden.lower()
    assert unsubscribe_read(token=hidden) == (ada, "news")
    # No category: the built-in "general" one.
    general = unsubscribe_token(tenant="t", external_id="u-1", category="")
    assert unsubscribe_read(token=general) == (person, "general")


def test_applying_opts_out_of_that_category_by_email_only(person: Recipient) -> None:
    token = unsubscribe_token(tenant="t", external_id="u-1", category="news")

    assert unsubscribe_apply(token=token) == (person, "news")
    assert unsubscribe_apply(token=token) == (person, "news")  # idempotent

    rows = Preference.objects.values_list("category__key", "channel", "enabled")
    assert list(rows) == [("news", "email", False)]


def test_the_digest_offer_keeps_the_category_as_one_email_a_day(person: Recipient) -> None:
    token = unsubscribe_token(tenant="t", external_id="u-1", category="news")

    assert unsubscribe_digest(token=token) == (person, "news", DIGEST_OFFER)

    assert list(DigestChoice.objects.values_list("category__key", "rule")) == [
        ("news", DIGEST_OFFER)
    ]
    assert not Preference.objects.exists()


def test_a_tampered_token_or_one_for_nobody_is_a_bad_link(person: Recipient) -> None:
    token = unsubscribe_token(tenant="t", external_id="u-1", category="news")
    with pytest.raises(BadLink):
        unsubscribe_read(token=token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))
    with pytest.raises(BadLink):
        unsubscribe_read(token=unsubscribe_token(tenant="t", external_id="nobody", category=""))
    with pytest.raises(BadLink):
        unsubscribe_read(token="not:a:token")
    assert not Preference.objects.exists()


def test_a_token_expires_after_its_max_age(settings: Any, person: Recipient) -> None:
    settings.NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS = 30
    token = unsubscribe_token(tenant="t", external_id="u-1", category="news")
    with time_machine.travel(time.time() + 29 * 86_400):
        assert unsubscribe_read(token=token) == (person, "news")
    with time_machine.travel(time.time() + 31 * 86_400), pytest.raises(ExpiredLink):
        unsubscribe_apply(token=token)
    assert not Preference.objects.exists()
