"""Property-based, beside the schemathesis pass (which never tried a NUL or a 300-character
id): any string at all in any path parameter or query filter answers a 4xx or a success in
JSON, never a 5xx."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from notify.models import Topic

# Every code point a URL can carry (lone surrogates cannot be encoded as UTF-8 at all), with
# the hostile ones over-represented: controls, line separators, and ids past the column size.
_HOSTILE = st.sampled_from(["\x00", "\x1b", "\n", "\x7f", "\x85", "\u2028", "\ufeff", "/", "%"])
_STRINGS = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40),
    st.lists(_HOSTILE | st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8).map(
        "".join
    ),
    st.integers(min_value=100, max_value=400).map(lambda n: "x" * n),
)

ROUTES = [
    ("get", "/api/v1/recipients/{}/"),
    ("put", "/api/v1/recipients/{}/"),
    ("post", "/api/v1/recipients/{}/devices/"),
    ("put", "/api/v1/recipients/{}/preferences/"),
    ("put", "/api/v1/topics/news/subscribers/{}/"),
    ("delete", "/api/v1/topics/news/subscribers/{}/"),
    ("get", "/api/v1/topics/{}/"),
    ("put", "/api/v1/categories/{}/"),
    ("delete", "/api/v1/templates/{}/"),
    ("post", "/api/v1/providers/{}/pause/"),
    ("get", "/api/v1/templates/welcome/?locale={}"),
    ("get", "/api/v1/notifications/?recipient={}"),
    ("get", "/api/v1/deliveries/?recipient={}"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
@given(value=_STRINGS)
@hypothesis_settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@override_settings(NOTIFY_API_RATE="")
def test_any_string_in_a_url_parameter_answers_without_a_5xx(
    api: APIClient, method: str, route: str, value: str
) -> None:
    Topic.objects.get_or_create(tenant="default", key="news")
    if "?" in route:
        path, query = route.split("?", maxsplit=1)
        url = f"{path}?{urlencode({query.removesuffix('={}'): value})}"
    else:
        url = route.format(quote(value, safe=""))

    response: Any = getattr(api, method)(url, {}, format="json")

    assert response.status_code < 500, (url, response.content[:300])
    if response.status_code != 204:
        assert response["Content-Type"].startswith("application/json"), url
    if response.status_code >= 400:
        assert set(response.json()) >= {"error", "detail"}


@pytest.mark.parametrize("host", ['c~/"+;NuR', "a b", "exa mple.com:99999x"])
def test_a_host_header_that_is_no_host_name_is_a_json_400_on_api_urls(
    api: APIClient, host: str
) -> None:
    """Django refuses it before any view (DisallowedHost); on the API the answer is still the
    API's error shape, elsewhere Django's page."""
    response = api.get("/api/v1/templates/", HTTP_HOST=host)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "bad_request", "detail": "Bad request."}
    page = api.get("/admin/", HTTP_HOST=host)
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
