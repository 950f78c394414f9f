"""GET /api/v1/: a map of the API, readable without a key."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import Resolver404, get_resolver, resolve

from notify.api.root import ENDPOINTS

SAMPLE = {"id": "00000000-0000-0000-0000-000000000001", "recipient_id": "user-1", "key": "news"}


def test_the_api_root_lists_every_endpoint_as_an_absolute_url(db: Any) -> None:
    response = Client().get("/api/v1/")

    assert response.status_code == 200
    body = response.json()
    assert body["authentication"] == "Authorization: Bearer <API key>"
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"
    endpoints = body["endpoints"]
    assert endpoints["notifications"] == "http://testserver/api/v1/notifications/"
    assert endpoints["recipient"] == "http://testserver/api/v1/recipients/{recipient_id}/"
    for name, url in endpoints.items():
        path = url.removeprefix("http://testserver").format(**SAMPLE)
        try:
            match = resolve(path)
        except Resolver404:
            raise AssertionError(f"{name}: {path} matches no route") from None
        assert match.url_name != "api-root", name


def test_no_collection_of_the_api_is_missing_from_the_root() -> None:
    api = next(
        p
        for p in get_resolver().url_patterns
        if str(p.pattern) == "api/v1/" and hasattr(p, "url_patterns")
    )
    listed = {path.split("/")[0] for path in ENDPOINTS.values()}

    for pattern in api.url_patterns:
        first = re.sub(r"^\^", "", str(pattern.pattern)).split("/")[0]
        assert first in listed, f"api/v1/{pattern.pattern} is not reachable from the API root"


def test_the_api_root_needs_no_key_and_reads_no_tenant(db: Any) -> None:
    anonymous = Client().get("/api/v1/")
    with_a_bad_key = Client().get("/api/v1/", HTTP_AUTHORIZATION="Bearer ntf_nope")

    assert anonymous.status_code == with_a_bad_key.status_code == 200
    assert anonymous.json() == with_a_bad_key.json()


def test_the_api_root_is_read_only_and_errors_in_the_api_shape(db: Any) -> None:
    response = Client().post("/api/v1/", {}, content_type="application/json")

    assert response.status_code == 405
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": 'Method "POST" not allowed.',
    }
