"""Broadcasts and the render budget through the API: content over one message's budget is
refused at accept (rendered for the first recipient) before anything is stored; a broadcast
whose messages together use up NOTIFY_RENDER_MAX_BROADCAST_SECONDS shows `halted` and why."""

from __future__ import annotations

from typing import Any

from django.test import Client, override_settings
from rest_framework.test import APIClient

from notify.models import ApiKey, Broadcast, Notification, Template
from notify.services.audiences.broadcasts import broadcast_expand

URL = "/api/v1/broadcasts/"
PEOPLE = [{"id": f"p{i}", "phone": f"+1415555267{i}"} for i in range(3)]
FOUR_LOOPS = (
    "{% for a in l %}{% for b in l %}{% for c in l %}{% for d in l %}{{ d }}"
    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
)


def test_inline_content_over_a_messages_budget_is_a_400_and_nothing_is_stored(
    api: APIClient,
) -> None:
    body = {"recipients": PEOPLE, "content": {"sms": {"text": "{{ x|ljust:'500000000' }}"}}}

    response = api.post(URL, {**body, "data": {"x": "a"}}, format="json")

    assert response.status_code == 400, response.content
    [message] = response.json()["fields"]["content.sms.text"]
    assert "(NOTIFY_RENDER_MAX_OUTPUT_CHARS)" in message
    assert not Broadcast.objects.exists()


@override_settings(NOTIFY_RENDER_MAX_SECONDS=60)  # the loop cap, not the clock, stops it
def test_a_topics_template_over_budget_is_a_400_on_the_template(
    api: APIClient, api_key: tuple[ApiKey, str]
) -> None:
    Template.objects.create(
        tenant=api_key[0].tenant, key="promo", content={"sms": {"text": FOUR_LOOPS}}
    )
    assert api.post("/api/v1/topics/", {"key": "news"}, format="json").status_code == 201
    assert api.put("/api/v1/topics/news/subscribers/s1/").status_code == 204
    body = {"topic": "news", "template": "promo", "data": {"l": list(range(100))}}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    [message] = response.json()["fields"]["template"]
    assert "(NOTIFY_RENDER_MAX_LOOP_ITERATIONS)" in message
    assert not Broadcast.objects.exists()


def test_what_may_hold_for_the_first_recipient_alone_is_left_to_expansion(
    api: APIClient,
) -> None:
    # The first recipient has no email for {{ recipient.email }}: the others may have one.
    people = [{"id": "no-email", "phone": "+14155552671"}, {"id": "b", "email": "b@example.com"}]
    content = {"email": {"subject": "Hi", "text": "{{ recipient.email }}"}}

    response = api.post(URL, {"recipients": people, "content": content}, format="json")

    assert response.status_code == 202, response.content


@override_settings(NOTIFY_RENDER_MAX_BROADCAST_SECONDS=0)
def test_a_broadcast_whose_render_budget_ran_out_shows_halted_and_why(api: APIClient) -> None:
    content = {"sms": {"text": "Hi {{ recipient.id }}"}}
    accepted = api.post(URL, {"recipients": PEOPLE, "content": content}, format="json")
    assert accepted.status_code == 202, accepted.content
    url = f"{URL}{accepted.json()['id']}/"
    assert api.get(url).json()["reason"] == ""

    assert broadcast_expand(broadcast_id=accepted.json()["id"]) is False  # the worker's job

    body = api.get(url).json()
    assert (body["status"], body["total"], body["expanded"]) == ("halted", 3, 0)
    assert body["reason"] == (
        "Halted after 0 of 3 recipients: the broadcast's messages together took more than "
        "0 s to render (NOTIFY_RENDER_MAX_BROADCAST_SECONDS). The others were not sent the "
        "message."
    )
    assert body["deliveries"] == {}
    assert not Notification.objects.exists()
    cancelled = api.post(f"{url}cancel/").json()
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", body["reason"])


def test_the_schema_documents_the_halted_status_and_its_reason(db: Any) -> None:
    schema = Client().get("/api/schema/?format=json").json()["components"]["schemas"]

    assert "halted" in schema["BroadcastStatusEnum"]["enum"]
    output = schema["BroadcastOutput"]["properties"]
    assert "NOTIFY_RENDER_MAX_BROADCAST_SECONDS" in output["status"]["description"]
    assert output["reason"]["type"] == "string"
    assert "halted" in output["reason"]["description"]
