"""The per-key limit as callers meet it: concurrent HTTP clients against a live server get
exactly the key's limit through and 429s after; a key's own limit is honoured; a request
that creates N notifications costs N."""

from __future__ import annotations

import threading
from typing import Any

import requests
from django.test import override_settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from notify.models import Notification
from notify.services.access.apikeys import api_key_create
from tests.api.conftest import client_for

BODY = {
    "recipient": {"id": "r", "email": "r@example.com"},
    "content": {"email": {"subject": "s", "text": "t"}},
}


def test_concurrent_clients_get_exactly_the_keys_limit(live_server: Any) -> None:
    _, raw = api_key_create(name="burst", rate_limit="20/h")
    start = threading.Barrier(12)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {raw}"
            start.wait()
            mine = [
                session.get(f"{live_server.url}/api/v1/notifications/", timeout=30)
                for _ in range(5)
            ]
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 20, statuses
    assert statuses.count(429) == 40, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"] == "throttled"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


@override_settings(NOTIFY_API_RATE="2/m")
def test_a_keys_own_limit_is_honoured_over_the_default(db: Any) -> None:
    _, producer = api_key_create(name="producer", rate_limit="4/m")
    _, ordinary = api_key_create(name="ordinary")

    produced = [client_for(producer).get("/api/v1/notifications/").status_code for _ in range(5)]
    read = [client_for(ordinary).get("/api/v1/notifications/").status_code for _ in range(3)]

    assert produced == [200, 200, 200, 200, 429]
    assert read == [200, 200, 429]


def test_a_single_create_costs_one(db: Any) -> None:
    _, raw = api_key_create(name="one", rate_limit="2/h")
    api = client_for(raw)

    first = api.post("/api/v1/notifications/", BODY, format="json")
    second = api.post(
        "/api/v1/notifications/",
        {**BODY, "recipient": {"id": "s", "email": "s@example.com"}},
        format="json",
    )
    third = api.post("/api/v1/notifications/", BODY, format="json")

    assert (first.status_code, second.status_code) == (202, 202), second.content
    assert third.status_code == 429
    assert Notification.objects.count() == 2


class _Batch(APIView):
    """A view that creates one notification per item says so with rate_cost, as a batch
    endpoint does."""

    def rate_cost(self, request: Request) -> int:
        data: Any = request.data
        return len(data.get("items", []))

    def post(self, request: Request) -> Response:
        data: Any = request.data
        return Response({"accepted": len(data["items"])}, status=202)


def _batch(raw: str, size: int) -> Response:
    request = APIRequestFactory().post(
        "/batch/", {"items": [{}] * size}, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    response = _Batch.as_view()(request)
    response.render()
    return response


def test_a_batch_costs_one_per_notification(db: Any) -> None:
    _, raw = api_key_create(name="batch", rate_limit="10/h")

    assert _batch(raw, 6).status_code == 202
    over = _batch(raw, 5)
    assert _batch(raw, 4).status_code == 202
    after = client_for(raw).get("/api/v1/notifications/")

    assert over.status_code == 429 and int(over["Retry-After"]) > 0
    assert after.status_code == 429


def test_a_batch_larger_than_the_whole_limit_is_told_to_split(db: Any) -> None:
    _, raw = api_key_create(name="batch", rate_limit="10/h")

    refused = _batch(raw, 11)

    assert refused.status_code == 429
    assert "Retry-After" not in refused
    assert refused.data == {
        "error": "throttled",
        "detail": "This request carries 11 notifications, more than this key's whole limit "
        "of 10/h; split it.",
    }
    assert _batch(raw, 10).status_code == 202
