"""POST /api/v1/notifications/batch/: partial success, each item answered like a single
create, the queries a batch costs, and a batch through the real worker to the sandbox.
Idempotency and the limits are in test_batch_idempotency.py and test_batch_limits.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import Delivery, Notification, Recipient
from tests.api.batch_calls import item_body, post_items
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.django_db


def test_a_bad_item_is_refused_with_its_field_errors_and_the_others_are_accepted(
    api: APIClient,
) -> None:
    items = [
        item_body(0),
        {
            "recipient": {"id": "user-1", "email": "not-an-email"},
            "content": item_body(1)["content"],
        },
        {"recipient": {"id": "user-2"}, "content": item_body(2)["content"]},  # nobody to reach
        {"recipient": {"id": "user-3", "email": "u3@example.com"}, "template": "missing"},
        item_body(4, channels=["email", "sms"]),  # sms asked for, no sms content
        item_body(5, priority="high"),
    ]

    response = post_items(api, items)

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [202, 400, 400, 400, 400, 202]
    assert results[1]["error"]["error"] == "validation_error"
    assert "recipient.email" in results[1]["error"]["fields"]
    assert "recipient" in results[2]["error"]["fields"]
    assert results[3]["error"]["fields"] == {"template": ["No template with key 'missing'."]}
    assert "channels" in results[4]["error"]["fields"]
    accepted = {results[0]["notification"]["id"], results[5]["notification"]["id"]}
    assert {str(i) for i in Notification.objects.values_list("id", flat=True)} == accepted
    assert results[5]["notification"]["priority"] == "high"
    assert results[0]["notification"]["deliveries"][0]["to"] == "user0@example.com"
    # A refused item leaves no recipient behind (a single create would roll it back too).
    assert set(Recipient.objects.values_list("external_id", flat=True)) == {"user-0", "user-5"}


@override_settings(NOTIFY_RENDER_MAX_REQUEST_SECONDS=0)
def test_items_rendered_after_the_requests_render_time_is_used_up_are_refused(
    api: APIClient,
) -> None:
    # Each item has its own render budget, and a batch shares one more: 1,000 items may not
    # cost 1,000 budgets. At 0 s every item is over it.
    response = post_items(
        api,
        [
            item_body(0),
            item_body(1, content={"email": {"subject": "{{ a|default:1 }}", "text": "t"}}),
        ],
    )

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [400, 400]
    for result in results:
        messages = [m for ms in result["error"]["fields"].values() for m in ms]
        assert any("NOTIFY_RENDER_MAX_REQUEST_SECONDS" in m for m in messages), messages
    assert not Notification.objects.exists()


def test_each_item_answers_like_the_single_create_for_the_same_body(api: APIClient) -> None:
    single = api.post("/api/v1/notifications/", item_body(7), format="json").json()

    item = post_items(api, [item_body(8)]).json()["results"][0]["notification"]

    assert single.keys() == item.keys()
    assert single["deliveries"][0].keys() == item["deliveries"][0].keys()
    assert (item["status"], item["recipient"], item["priority"]) == ("pending", "user-8", "normal")


def test_the_same_recipient_twice_is_merged_in_order_like_two_single_creates(
    api: APIClient,
) -> None:
    first = {"recipient": {"id": "ada", "email": "old@example.com"}, **_content()}
    second = {"recipient": {"id": "ada", "email": "new@example.com"}, **_content()}

    results = post_items(api, [first, second]).json()["results"]

    assert [r["notification"]["deliveries"][0]["to"] for r in results] == [
        "old@example.com",
        "new@example.com",
    ]
    assert Recipient.objects.get(external_id="ada").email == "new@example.com"


def _content() -> dict[str, Any]:
    return {"content": {"email": {"subject": "Hi", "text": "t"}}}


def test_a_batch_costs_a_bounded_number_of_queries(producer: APIClient) -> None:
    from django.test.utils import CaptureQueriesContext

    def queries(n: int) -> int:
        items = [item_body(i + n * 1000, channels=["email"]) for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            assert post_items(producer, items).status_code == 200
        return len(captured)

    few = queries(10)  # also the key's first use, which records it
    assert queries(200) <= few


@pytest.mark.e2e
def test_a_batch_reaches_the_providers_through_the_real_worker(
    producer: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    items = [
        {
            "recipient": {"id": "b-mail", "email": "mail@example.com"},
            "content": {"email": {"subject": "Order 1 shipped", "text": "Tracking: 1Z"}},
        },
        {"recipient": {"id": "b-bad", "email": "nope"}, "content": {"sms": {"text": "x"}}},
        {
            "recipient": {"id": "b-sms", "phone": "+14155552671"},
            "content": {"sms": {"text": "Your code is 123456"}},
            "idempotency_key": "otp-1",
        },
        {
            "recipient": {"id": "b-push", "push_tokens": ["batch-token-1"]},
            "content": {"push": {"title": "Driver nearby"}},
        },
    ]

    results = post_items(producer, items).json()["results"]

    assert [r["status"] for r in results] == [202, 400, 202, 202]
    ids = {
        r["index"]: r["notification"]["deliveries"][0]["id"] for r in results if "notification" in r
    }

    def sent() -> bool:
        done = Delivery.objects.filter(id__in=ids.values(), status="sent").count()
        return done == len(ids)

    wait_for(sent, timeout=30, what="the batch's deliveries to be sent")
    email = sandbox.accepted(provider="smtp", delivery_id=ids[0])
    assert [m["body"]["subject"] for m in email] == ["Order 1 shipped"]
    sms = sandbox.accepted(provider="twilio", delivery_id=ids[2])
    assert [(m["to"], m["body"]["Body"]) for m in sms] == [("+14155552671", "Your code is 123456")]
    push = sandbox.accepted(provider="fcm", delivery_id=ids[3])
    assert push[0]["body"]["notification"]["title"] == "Driver nearby"
    assert not sandbox.messages(to="nope")
