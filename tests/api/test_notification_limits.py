"""POST /api/v1/notifications/ and /broadcasts/ with content or data built to exhaust the
server (the probe's payloads): a 400 naming the field and the limit, and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import ApiKey, Broadcast, Delivery, Notification, Recipient, Template

URL = "/api/v1/notifications/"
FOUR_LOOPS = (
    "{% for a in data.l %}{% for b in data.l %}{% for c in data.l %}{% for d in data.l %}"
    "{{ d }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
)
RECIPIENT = {"id": "probe", "phone": "+14155552671", "email": "probe@example.com"}


def _nothing_stored() -> None:
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert Recipient.objects.count() == 0


@override_settings(NOTIFY_RENDER_MAX_SECONDS=60)  # the loop cap, not the clock, stops it
def test_the_probes_four_nested_loops_are_a_400_naming_the_loop_cap(api: APIClient) -> None:
    body = {
        "recipient": RECIPIENT,
        "content": {"sms": {"text": FOUR_LOOPS}},
        "data": {"data": {"l": list(range(100))}},
    }

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    [message] = response.json()["fields"]["content.sms.text"]
    assert "more than 10000 loop iterations (NOTIFY_RENDER_MAX_LOOP_ITERATIONS)" in message
    _nothing_stored()


def test_the_probes_ljust_500000000_is_a_400_naming_the_output_limit(api: APIClient) -> None:
    body = {
        "recipient": RECIPIENT,
        "content": {"email": {"subject": "Hi", "text": "{{ x|ljust:'500000000' }}"}},
        "data": {"x": "a"},
    }

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "content.email.text": [
            "Rendering stopped: ljust: width 500000000 is more than 500000 characters "
            "(NOTIFY_RENDER_MAX_OUTPUT_CHARS)."
        ]
    }
    _nothing_stored()


@override_settings(NOTIFY_RENDER_MAX_SECONDS=60)
def test_a_stored_template_over_budget_is_a_400_on_the_template(
    api: APIClient, api_key: tuple[ApiKey, str]
) -> None:
    Template.objects.create(
        tenant=api_key[0].tenant, key="bomb", content={"sms": {"text": FOUR_LOOPS}}
    )
    body = {"recipient": RECIPIENT, "template": "bomb", "data": {"data": {"l": list(range(100))}}}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    [message] = response.json()["fields"]["template"]
    assert message.startswith("sms.text: Rendering stopped: more than 10000 loop iterations")
    _nothing_stored()


def test_a_loop_within_the_budget_is_accepted(api: APIClient) -> None:
    body = {
        "recipient": RECIPIENT,
        "content": {"sms": {"text": "{% for x in l %}{{ x }}{% endfor %}"}},
        "data": {"l": list(range(100))},
    }

    response = api.post(URL, body, format="json")

    assert response.status_code == 202
    assert Notification.objects.get().content["sms"]["text"] == "".join(map(str, range(100)))


def _nested(depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        data = {"a": data}
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_nested(11), "Nested more than 10 levels deep (NOTIFY_DATA_MAX_DEPTH)."),
        (
            {"l": list(range(10_001))},
            "More than 10000 keys and list items in all (NOTIFY_DATA_MAX_ITEMS).",
        ),
        ({"s": "x" * 70_000}, "70009 bytes as JSON; at most 65536 (NOTIFY_DATA_MAX_BYTES)."),
    ],
    ids=["depth", "items", "bytes"],
)
def test_data_past_a_shape_limit_is_a_400_on_data(
    api: APIClient, data: dict[str, Any], expected: str
) -> None:
    body = {"recipient": RECIPIENT, "content": {"sms": {"text": "Hi"}}, "data": data}

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"data": [expected]}
    _nothing_stored()


def test_data_at_the_shape_limits_is_accepted(api: APIClient) -> None:
    data = {**_nested(10), "l": list(range(9_000))}
    body = {"recipient": RECIPIENT, "content": {"sms": {"text": "{{ l|length }}"}}, "data": data}

    response = api.post(URL, body, format="json")

    assert response.status_code == 202
    assert Notification.objects.get().content["sms"]["text"] == "9000"


def test_a_broadcast_with_data_past_a_limit_is_a_400_and_not_stored(api: APIClient) -> None:
    body = {
        "recipients": [RECIPIENT],
        "content": {"sms": {"text": "Hi"}},
        "data": _nested(11),
    }

    response = api.post("/api/v1/broadcasts/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["data"]
    assert Broadcast.objects.count() == 0
