"""A notification never reaches a channel it has no content for: a channel asked for without
content (inline, or a part of the template) is a 400 on `channels` and nothing is stored;
without `channels`, only the channels with content are planned, whatever contact points the
recipient has, and a "fallback" notification never falls back to one of the others."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.accepting.planning import deliveries_fall_back
from tests.api.notification_calls import EMAIL, SMS, accept, post, stored, template

EVERYWHERE = {
    "id": "u-everywhere",
    "email": "ada@example.com",
    "phone": "+14155550190",
    "push_tokens": ["tok-everywhere"],
}


@pytest.mark.parametrize("strategy", ["all", "fallback"])
def test_a_channel_asked_for_without_inline_content_is_a_400(api: APIClient, strategy: str) -> None:
    response = post(
        api,
        {
            "recipient": EVERYWHERE,
            "channels": ["email", "sms"],
            "strategy": strategy,
            "content": {"email": EMAIL},
        },
    )

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"channels": ["No content for channel(s): sms."]}
    assert stored() == (0, 0, 0)


def test_a_channel_the_template_has_no_part_for_is_a_400(api: APIClient) -> None:
    template(api, "mail-only", {"email": EMAIL})

    response = post(
        api,
        {"recipient": EVERYWHERE, "template": "mail-only", "channels": ["push", "email"]},
    )

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"channels": ["No template for channel(s): push."]}
    assert stored()[:2] == (0, 0)


def test_the_template_of_the_recipients_locale_must_have_the_part_too(api: APIClient) -> None:
    """The default template has SMS, the French one does not: a French recipient is refused
    rather than sent an empty text (parts do not fall back across locales)."""
    template(api, "localized", {"email": EMAIL, "sms": SMS})
    template(api, "localized", {"email": EMAIL}, locale="fr")

    response = post(
        api,
        {
            "recipient": {**EVERYWHERE, "locale": "fr"},
            "template": "localized",
            "channels": ["sms"],
        },
    )

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"channels": ["No template for channel(s): sms."]}


@pytest.mark.parametrize("source", ["content", "template"])
def test_without_channels_only_the_channels_with_content_are_planned(
    api: APIClient, source: str
) -> None:
    if source == "template":
        template(api, "mail-only", {"email": EMAIL})
    given: dict[str, Any] = (
        {"content": {"email": EMAIL}} if source == "content" else {"template": "mail-only"}
    )

    created = accept(api, {"recipient": EVERYWHERE, **given})

    assert [(d["channel"], d["status"]) for d in created["deliveries"]] == [("email", "pending")]


def test_a_fallback_without_channels_ends_after_the_last_channel_with_content(
    api: APIClient,
) -> None:
    created = accept(
        api,
        {"recipient": EVERYWHERE, "strategy": "fallback", "content": {"email": EMAIL}},
    )
    Delivery.objects.filter(notification_id=created["id"]).update(status="failed")

    assert deliveries_fall_back(failed_ids=[created["deliveries"][0]["id"]]) == 0

    answer = api.get(f"/api/v1/notifications/{created['id']}/").json()
    assert [(d["channel"], d["status"]) for d in answer["deliveries"]] == [("email", "failed")]


def test_an_email_whose_template_renders_no_body_is_a_400_like_inline_content(
    api: APIClient,
) -> None:
    """HTML keeps its whitespace when rendered, so a body that is only blanks must be caught
    as one: inline `"html": " "` is refused, and so is a template that renders to it."""
    html = " {% if show %}<p>Your receipt</p>{% endif %}\n"
    template(api, "maybe-html", {"email": {"subject": "Receipt", "html": html}})

    empty = post(api, {"recipient": EVERYWHERE, "template": "maybe-html", "data": {}})
    inline = post(
        api, {"recipient": EVERYWHERE, "content": {"email": {"subject": "Hi", "html": " \n"}}}
    )
    shown = accept(api, {"recipient": EVERYWHERE, "template": "maybe-html", "data": {"show": True}})

    assert empty.status_code == 400, empty.content
    assert empty.json()["fields"] == {"data": ["rendered email.text: Give text, html or both."]}
    assert inline.status_code == 400, inline.content
    assert inline.json()["fields"] == {"content.email.text": ["Give text, html or both."]}
    assert [d["channel"] for d in shown["deliveries"]] == ["email"]
    assert stored()[:2] == (1, 1)
