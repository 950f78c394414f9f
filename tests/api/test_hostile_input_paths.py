"""Hostile paths and queries never reach a 500: control characters in the path or the query
and ids longer than their field are each a 4xx in the API's JSON error shape, and nothing is
stored. An unknown API URL, an unsupported method and an error nobody handled still answer
JSON; outside the API, Django's pages stay."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from notify.models import (
    Recipient,
    Subscription,
    Topic,
)
from tests.api.error_shape import assert_error_shape


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

    answer = assert_error_shape(response, 400, "validation_error")
    assert answer["fields"] == {field: ["Control characters are not allowed."]}
    assert not Recipient.objects.exists()
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url", ["/api/v1/recipients/{id}/", "/api/v1/topics/news/subscribers/{id}/"]
)
def test_an_id_longer_than_the_field_is_a_400_on_put(api: APIClient, url: str) -> None:
    Topic.objects.create(tenant="default", key="news")

    response = api.put(url.format(id="x" * 300), {}, format="json")

    answer = assert_error_shape(response, 400, "validation_error")
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

    assert_error_shape(response, 404, "not_found")


def test_an_unknown_api_url_and_an_unsupported_method_answer_json(api: APIClient) -> None:
    unknown = api.get("/api/v1/no-such-thing/")
    method = api.delete("/api/v1/notifications/")

    assert_error_shape(unknown, 404, "not_found")
    assert_error_shape(method, 405, "method_not_allowed")


@override_settings(ROOT_URLCONF="tests.api.failing_urls")
@pytest.mark.parametrize("url", ["/api/v1/broken-drf/", "/api/v1/broken-plain/"])
def test_an_unhandled_error_on_an_api_route_is_logged_and_answers_json(
    db: Any, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.ERROR):
        response = client.get(url)

    answer = assert_error_shape(response, 500, "server_error")
    assert "a bug" not in json.dumps(answer)  # no internals in the answer
    assert any(
        record.exc_info and "a bug in" in str(record.exc_info[1]) for record in caplog.records
    )


@override_settings(ROOT_URLCONF="tests.api.failing_urls")
def test_an_unknown_url_outside_the_api_keeps_django_pages(db: Any) -> None:
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
