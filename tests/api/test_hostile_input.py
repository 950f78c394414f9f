"""Hostile input in a body never reaches a 500: deep nesting, a NUL or a lone surrogate, Unicode
line separators and free text where a slug belongs are each a 4xx in the API's JSON error
shape, and nothing is stored. Hostile paths and queries, and the errors nobody handled, are
in test_hostile_input_paths.py."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
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
from tests.api.error_shape import assert_error_shape

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

    answer = assert_error_shape(response, 400, "parse_error")
    assert "nested deeper than 32 levels" in answer["detail"]
    assert _nothing_stored()


def test_the_nesting_bound_is_32_levels(api: APIClient) -> None:
    # Unknown fields are ignored, so only the parser decides.
    at_bound = api.post("/api/v1/topics/", {"key": "deep", "x": _nested(31)}, format="json")
    past_bound = api.post("/api/v1/topics/", {"key": "deeper", "x": _nested(32)}, format="json")

    assert at_bound.status_code == 201, at_bound.content
    assert_error_shape(past_bound, 400, "parse_error")
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

    answer = assert_error_shape(response, 400, "parse_error")
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

    answer = assert_error_shape(response, 400, "parse_error")
    assert "surrogate" in answer["detail"]
    assert _nothing_stored()


def test_a_deeply_nested_json_file_in_a_multipart_import_is_a_400(api: APIClient) -> None:
    upload = SimpleUploadedFile("people.json", TOO_DEEP.encode())

    response = api.post("/api/v1/recipient-imports/", {"file": upload}, format="multipart")

    answer = assert_error_shape(response, 400, "validation_error")
    assert "nested deeper than 32 levels" in answer["fields"]["file"][0]
    assert _nothing_stored()


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

    fields = assert_error_shape(subject, 400, "validation_error")["fields"]
    assert fields == {"content.email.subject": ["Must be a single line."]}
    fields = assert_error_shape(recipient_id, 400, "validation_error")["fields"]
    assert fields == {"recipient.id": ["Must be a single line."]}
    fields = assert_error_shape(path_id, 400, "validation_error")["fields"]
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

    fields = assert_error_shape(response, 400, "validation_error")["fields"]
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
