"""POST /api/v1/notifications/batch/: partial success, per-item idempotency, limits, the rate
limit counting items, and a batch through the real worker to the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery, Notification, Recipient
from notify.services.access.apikeys import api_key_create
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/batch/"


@pytest.fixture
def producer(db: Any) -> APIClient:
    """A high-volume producer: configured with its own limit, not exempted."""
    _, raw = api_key_create(name="producer", rate_limit="100000/s")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _item(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "recipient": {"id": f"user-{n}", "email": f"user{n}@example.com"},
        "content": {"email": {"subject": f"Order {n} shipped", "text": "On its way."}},
        **extra,
    }


def _post(api: APIClient, items: Any) -> Any:
    return api.post(URL, {"notifications": items}, format="json")


def test_a_bad_item_is_refused_with_its_field_errors_and_the_others_are_accepted(
    api: APIClient,
) -> None:
    items = [
        _item(0),
        {"recipient": {"id": "user-1", "email": "not-an-email"}, "content": _item(1)["content"]},
        {"recipient": {"id": "user-2"}, "content": _item(2)["content"]},  # nobody to reach
        {"recipient": {"id": "user-3", "email": "u3@example.com"}, "template": "missing"},
        _item(4, channels=["email", "sms"]),  # sms asked for, no sms content
        _item(5, priority="high"),
    ]

    response = _post(api, items)

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
    response = _post(
        api, [_item(0), _item(1, content={"email": {"subject": "{{ a|default:1 }}", "text": "t"}})]
    )

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [400, 400]
    for result in results:
        messages = [m for ms in result["error"]["fields"].values() for m in ms]
        assert any("NOTIFY_RENDER_MAX_REQUEST_SECONDS" in m for m in messages), messages
    assert not Notification.objects.exists()


def test_each_item_answers_like_the_single_create_for_the_same_body(api: APIClient) -> None:
    single = api.post("/api/v1/notifications/", _item(7), format="json").json()

    item = _post(api, [_item(8)]).json()["results"][0]["notification"]

    assert single.keys() == item.keys()
    assert single["deliveries"][0].keys() == item["deliveries"][0].keys()
    assert (item["status"], item["recipient"], item["priority"]) == ("pending", "user-8", "normal")


def test_an_idempotency_key_replays_per_item_and_a_different_body_is_422(api: APIClient) -> None:
    first = _post(api, [_item(0, idempotency_key="k-0"), _item(1, idempotency_key="k-1")])
    assert [r["status"] for r in first.json()["results"]] == [202, 202]

    again = _post(
        api,
        [
            _item(0, idempotency_key="k-0"),  # same body: replayed
            {**_item(1, idempotency_key="k-1"), "priority": "high"},  # different body: 422
            _item(2, idempotency_key="k-2"),  # new
        ],
    ).json()["results"]

    assert [r["status"] for r in again] == [200, 422, 202]
    assert again[0]["replayed"] is True
    assert again[0]["notification"]["id"] == first.json()["results"][0]["notification"]["id"]
    assert again[1]["error"]["error"] == "unprocessable"
    assert Notification.objects.count() == 3
    assert Delivery.objects.count() == 3


def test_a_key_is_shared_with_single_creates_of_the_same_body(api: APIClient) -> None:
    created = api.post(
        "/api/v1/notifications/", _item(0), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    ).json()

    result = _post(api, [_item(0, idempotency_key="shared")]).json()["results"][0]

    assert (result["status"], result["notification"]["id"]) == (200, created["id"])
    assert Notification.objects.count() == 1


def test_a_key_repeated_inside_one_batch_is_applied_in_order(api: APIClient) -> None:
    results = _post(
        api,
        [
            _item(0, idempotency_key="twice"),
            _item(0, idempotency_key="twice"),
            {**_item(0, idempotency_key="twice"), "priority": "low"},
        ],
    ).json()["results"]

    assert [r["status"] for r in results] == [202, 200, 422]
    assert results[1]["notification"]["id"] == results[0]["notification"]["id"]
    assert Notification.objects.count() == 1


def test_a_key_another_request_is_processing_is_409_for_that_item_only(
    api: APIClient, api_key: tuple[ApiKey, str]
) -> None:
    # Another session holds the key's lock, as a concurrent request would.
    from django.db import connections

    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                [api_key[0].tenant, "busy"],
            )
        results = _post(
            api, [_item(0, idempotency_key="busy"), _item(1, idempotency_key="free")]
        ).json()["results"]
    finally:
        other.rollback()
        other.close()

    assert [r["status"] for r in results] == [409, 202]
    assert results[0]["error"]["error"] == "conflict"
    assert Notification.objects.count() == 1


def test_the_same_recipient_twice_is_merged_in_order_like_two_single_creates(
    api: APIClient,
) -> None:
    first = {"recipient": {"id": "ada", "email": "old@example.com"}, **_content()}
    second = {"recipient": {"id": "ada", "email": "new@example.com"}, **_content()}

    results = _post(api, [first, second]).json()["results"]

    assert [r["notification"]["deliveries"][0]["to"] for r in results] == [
        "old@example.com",
        "new@example.com",
    ]
    assert Recipient.objects.get(external_id="ada").email == "new@example.com"


def _content() -> dict[str, Any]:
    return {"content": {"email": {"subject": "Hi", "text": "t"}}}


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"notifications": []},
        {"notifications": "not a list"},
        {"notifications": [_item(0), "not an object"]},
        {"items": [_item(0)]},
    ],
)
def test_a_body_that_is_not_a_list_of_notification_objects_is_400(
    api: APIClient, body: Any
) -> None:
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "notifications" in response.json()["fields"]
    assert Notification.objects.count() == Recipient.objects.count() == 0


@override_settings(NOTIFY_BATCH_MAX_ITEMS=3)
def test_more_items_than_the_limit_is_400_and_stores_nothing(api: APIClient) -> None:
    response = _post(api, [_item(n) for n in range(4)])

    assert response.status_code == 400
    assert response.json()["fields"] == {"notifications": ["At most 3 notifications per batch."]}
    assert Notification.objects.count() == 0
    assert _post(api, [_item(n) for n in range(3)]).status_code == 200


@override_settings(NOTIFY_BATCH_MAX_BYTES=4096)
def test_a_body_over_its_byte_limit_is_413(api: APIClient) -> None:
    items = [_item(n) for n in range(40)]
    assert len(json.dumps({"notifications": items})) > 4096

    response = _post(api, items)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert Notification.objects.count() == 0


def test_a_batch_may_be_larger_than_a_single_create_body(producer: APIClient) -> None:
    from django.conf import settings

    items = [
        {**_item(n), "content": {"email": {"subject": "Hi", "text": "x" * 300}}}
        for n in range(1000)
    ]
    assert len(json.dumps({"notifications": items})) > settings.MAX_REQUEST_BYTES

    response = _post(producer, items)

    assert response.status_code == 200
    assert Notification.objects.count() == 1000


def test_the_rate_limit_counts_items_not_requests(db: Any) -> None:
    _, raw = api_key_create(name="limited", rate_limit="5/m")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert _post(api, [_item(n) for n in range(3)]).status_code == 200
    over = _post(api, [_item(n) for n in range(3, 6)])
    whole = _post(api, [_item(n) for n in range(6)])

    assert over.status_code == 429
    assert "Retry-After" in over
    assert whole.status_code == 429
    assert "more than this key's whole limit of 5/m" in whole.json()["detail"]
    assert Notification.objects.count() == 3


def test_a_key_with_its_own_limit_sends_a_large_batch(producer: APIClient) -> None:
    response = _post(producer, [_item(n) for n in range(500)])

    assert response.status_code == 200
    assert Notification.objects.count() == 500


def test_a_key_without_the_send_scope_is_403(db: Any) -> None:
    _, raw = api_key_create(name="reader", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert _post(api, [_item(0)]).status_code == 403
    assert Notification.objects.count() == 0


def test_tenants_are_walls_for_recipients_and_keys(api: APIClient) -> None:
    _, raw = api_key_create(name="other", tenant="other")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    _post(api, [_item(0, idempotency_key="k")])

    result = _post(other, [{**_item(0, idempotency_key="k"), "priority": "high"}]).json()

    assert result["results"][0]["status"] == 202
    assert Recipient.objects.filter(external_id="user-0").count() == 2
    assert sorted(Notification.objects.values_list("tenant", flat=True)) == ["default", "other"]


def test_a_batch_costs_a_bounded_number_of_queries(producer: APIClient) -> None:
    from django.test.utils import CaptureQueriesContext

    def queries(n: int) -> int:
        items = [_item(i + n * 1000, channels=["email"]) for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            assert _post(producer, items).status_code == 200
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

    results = _post(producer, items).json()["results"]

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
