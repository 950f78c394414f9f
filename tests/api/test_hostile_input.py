"""Hostile input never reaches a 500: deep nesting, control characters in URLs, oversized ids,
Unicode line separators and free text where a key belongs are each a 4xx in the API's JSON
error shape, and nothing is stored. An error nobody handled still answers JSON."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from rest_framework.test import APIClient

from notify.models import (
    Broadcast,
    Category,
    Device,
    Notification,
    Recipient,
    Subscription,
    Template,
    Topic,
)

EMAIL = {"subject": "Hello", "text": "Hi there."}
CONTENT = {"email": EMAIL}
TOO_DEEP = "[" * 100_000 + "]" * 100_000  # far past the decoder's own recursion limit


def _nested(levels: int) -> Any:
    """A JSON value `levels` deep: [[[...]]]."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _nothing_stored() -> bool:
    models = (Notification, Broadcast, Recipient, Device, Template, Topic, Category, Subscription)
    return not any(model.objects.exists() for model in models)


def _assert_error_shape(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str)
    return body


JSON_BODIES = [
    ("post", "/api/v1/notifications/"),
    ("post", "/api/v1/broadcasts/"),
    ("post", "/api/v1/recipient-imports/"),
    ("post", "/api/v1/templates/"),
    ("post", "/api/v1/topics/"),
    ("post", "/api/v1/categories/"),
    ("post", "/api/v1/webhooks/"),
    ("put", "/api/v1/recipients/r-1/"),
    ("put", "/api/v1/recipients/r-1/preferences/"),
    ("post", "/api/v1/recipients/r-1/devices/"),
]


@pytest.mark.parametrize(("method", "url"), JSON_BODIES)
@pytest.mark.parametrize(
    "body",
    [
        TOO_DEEP,
        json.dumps(
            {"recipient": {"id": "r-1", "email": "r@example.com"}, "data": {"x": _nested(40)}}
        ),
    ],
    ids=["recursion-limit", "40-levels"],
)
def test_deeply_nested_json_is_a_400_on_every_endpoint(
    api: APIClient, method: str, url: str, body: str
) -> None:
    response = getattr(api, method)(url, body, content_type="application/json")

    answer = _assert_error_shape(response, 400, "parse_error")
    assert "nested deeper than 32 levels" in answer["detail"]
    assert _nothing_stored()


def test_the_nesting_bound_is_32_levels(api: APIClient) -> None:
    # Unknown fields are ignored, so only the parser decides.
    at_bound = api.post("/api/v1/topics/", {"key": "deep", "x": _nested(31)}, format="json")
    past_bound = api.post("/api/v1/topics/", {"key": "deeper", "x": _nested(32)}, format="json")

    assert at_bound.status_code == 201, at_bound.content
    _assert_error_shape(past_bound, 400, "parse_error")
    assert list(Topic.objects.values_list("key", flat=True)) == ["deep"]


def test_brackets_inside_strings_do_not_count_as_nesting(api: APIClient) -> None:
    name = '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\" {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{ \\\\'
    response = api.post(
        "/api/v1/topics/",
        f'{{"key": "brackets", "name": "{name}"}}',
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert Topic.objects.get().name == json.loads(f'"{name}"')


@pytest.mark.parametrize("url", ["/api/v1/notifications/", "/api/v1/broadcasts/"])
@pytest.mark.parametrize("data", [{"name": "a\x00b"}, {"na\x00me": "ab"}, {"x": [["\x00"]]}])
def test_a_nul_anywhere_in_a_body_is_a_400(api: APIClient, url: str, data: Any) -> None:
    # Template data is free-form and stored as jsonb, which cannot hold a NUL: a 500 before.
    person = {"id": "r-1", "email": "r@example.com"}
    audience = {"recipients": [person]} if "broadcasts" in url else {"recipient": person}

    response = api.post(url, {**audience, "content": CONTENT, "data": data}, format="json")

    answer = _assert_error_shape(response, 400, "parse_error")
    assert "NUL" in answer["detail"]
    assert _nothing_stored()


@pytest.mark.parametrize("url", ["/api/v1/notifications/", "/api/v1/notifications/batch/"])
def test_a_lone_surrogate_in_template_data_is_a_400(api: APIClient, url: str) -> None:
    # A lone \ud800 survives json.loads and used to crash the data size check: a 500.
    item = {"recipient": {"id": "r-1", "email": "r@example.com"}, "content": CONTENT}
    body = {"notifications": [item]} if "batch" in url else item
    text = json.dumps(body)[:-1] + ', "data": {"name": "\\ud800"}}'
    if "batch" in url:
        text = json.dumps(body).replace('"content"', '"data": {"name": "\\ud800"}, "content"')

    response = api.post(url, text, content_type="application/json")

    answer = _assert_error_shape(response, 400, "parse_error")
    assert "surrogate" in answer["detail"]
    assert _nothing_stored()


def test_a_deeply_nested_json_file_in_a_multipart_import_is_a_400(api: APIClient) -> None:
    upload = SimpleUploadedFile("people.json", TOO_DEEP.encode())

    response = api.post("/api/v1/recipient-imports/", {"file": upload}, format="multipart")

    answer = _assert_error_shape(response, 400, "validation_error")
    assert "nested deeper than 32 levels" in answer["fields"]["file"][0]
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("get", "/api/v1/recipients/%00/", "recipient_id"),
        ("put", "/api/v1/recipients/%00/", "recipient_id"),
        ("put", "/api/v1/recipients/a%1bb/", "recipient_id"),
        ("put", "/api/v1/recipients/line%0Abreak/", "recipient_id"),
        ("get", "/api/v1/recipients/%00/devices/", "recipient_id"),
        ("put", "/api/v1/recipients/%00/preferences/", "recipient_id"),
        ("put", "/api/v1/topics/news/subscribers/%00/", "recipient_id"),
        ("get", "/api/v1/categories/%00/", "key"),
        ("put", "/api/v1/categories/%7f/", "key"),
        ("get", "/api/v1/templates/%00/", "key"),
        ("get", "/api/v1/templates/welcome/?locale=%00", "locale"),
        ("put", "/api/v1/templates/welcome/?locale=fr%00", "locale"),
        ("get", "/api/v1/notifications/?recipient=%00", "recipient"),
        ("get", "/api/v1/deliveries/?recipient=a%00", "recipient"),
        ("post", "/api/v1/recipient-imports/?dry_run=%00", "dry_run"),
        ("post", "/api/v1/providers/smtp%00/pause/", "name"),
    ],
)
def test_control_characters_in_the_path_or_query_are_a_400_naming_the_parameter(
    api: APIClient, method: str, url: str, field: str
) -> None:
    Topic.objects.create(tenant="default", key="news")

    response = getattr(api, method)(url, {}, format="json")

    answer = _assert_error_shape(response, 400, "validation_error")
    assert answer["fields"] == {field: ["Control characters are not allowed."]}
    assert not Recipient.objects.exists()
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url", ["/api/v1/recipients/{id}/", "/api/v1/topics/news/subscribers/{id}/"]
)
def test_an_id_longer_than_the_field_is_a_400_on_put(api: APIClient, url: str) -> None:
    Topic.objects.create(tenant="default", key="news")

    response = api.put(url.format(id="x" * 300), {}, format="json")

    answer = _assert_error_shape(response, 400, "validation_error")
    assert answer["fields"] == {
        "recipient_id": ["Ensure this field has no more than 255 characters."]
    }
    assert not Recipient.objects.exists()


def test_an_id_of_exactly_255_characters_is_stored(api: APIClient) -> None:
    response = api.put(f"/api/v1/recipients/{'x' * 255}/", {}, format="json")

    assert response.status_code == 200, response.content
    assert Recipient.objects.get().external_id == "x" * 255


def test_reading_an_id_longer_than_the_field_is_a_404(api: APIClient) -> None:
    response = api.get(f"/api/v1/recipients/{'x' * 300}/")

    _assert_error_shape(response, 404, "not_found")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\r"])
def test_line_separators_in_single_line_fields_are_400s(api: APIClient, separator: str) -> None:
    subject = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "r-1", "email": "r@example.com"},
            "content": {"email": {**EMAIL, "subject": f"Hello{separator}Bcc: x@example.com"}},
        },
        format="json",
    )
    recipient_id = api.post(
        "/api/v1/notifications/",
        {"recipient": {"id": f"r{separator}1", "email": "r@example.com"}, "content": CONTENT},
        format="json",
    )
    # Percent-encoded, as a client sends it (urllib drops a raw \r from a URL).
    path_id = api.put(f"/api/v1/recipients/{quote(f'r{separator}1')}/", {}, format="json")

    fields = _assert_error_shape(subject, 400, "validation_error")["fields"]
    assert fields == {"content.email.subject": ["Must be a single line."]}
    fields = _assert_error_shape(recipient_id, 400, "validation_error")["fields"]
    assert fields == {"recipient.id": ["Must be a single line."]}
    fields = _assert_error_shape(path_id, 400, "validation_error")["fields"]
    assert list(fields) == ["recipient_id"]
    # \r is also a control character, which the URL check names first.
    assert fields["recipient_id"][0] in (
        "Must be a single line.",
        "Control characters are not allowed.",
    )
    assert _nothing_stored()


@pytest.mark.parametrize(
    "category", ["Billing alerts", "billing/alerts", "fact\u00fcre", "x" * 101]
)
@pytest.mark.parametrize("url", ["/api/v1/notifications/", "/api/v1/broadcasts/"])
def test_a_category_that_is_not_a_slug_is_a_400(api: APIClient, url: str, category: str) -> None:
    person = {"id": "r-1", "email": "r@example.com"}
    audience = {"recipients": [person]} if "broadcasts" in url else {"recipient": person}

    response = api.post(url, {**audience, "content": CONTENT, "category": category}, format="json")

    fields = _assert_error_shape(response, 400, "validation_error")["fields"]
    assert list(fields) == ["category"]
    assert _nothing_stored()


def test_a_slug_category_is_accepted(api: APIClient) -> None:
    response = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "r-1", "email": "r@example.com"},
            "content": CONTENT,
            "category": "bill_2",
        },
        format="json",
    )

    assert response.status_code == 202, response.content
    assert Notification.objects.get().category == "bill_2"


def test_an_unknown_api_url_and_an_unsupported_method_answer_json(api: APIClient) -> None:
    unknown = api.get("/api/v1/no-such-thing/")
    method = api.delete("/api/v1/notifications/")

    _assert_error_shape(unknown, 404, "not_found")
    _assert_error_shape(method, 405, "method_not_allowed")


@override_settings(ROOT_URLCONF="tests.api.failing_urls")
@pytest.mark.parametrize("url", ["/api/v1/broken-drf/", "/api/v1/broken-plain/"])
def test_an_unhandled_error_on_an_api_route_is_logged_and_answers_json(
    db: Any, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.ERROR):
        response = client.get(url)

    answer = _assert_error_shape(response, 500, "server_error")
    assert "a bug" not in json.dumps(answer)  # no internals in the answer
    assert any(
        record.exc_info and "a bug in" in str(record.exc_info[1]) for record in caplog.records
    )


@override_settings(ROOT_URLCONF="tests.api.failing_urls")
def test_an_unknown_url_outside_the_api_keeps_django_pages(db: Any) -> None:
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
