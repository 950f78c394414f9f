"""The unsubscribe page's other answer: keep the category, as one email a day."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from notify.models import ApiKey, Notification, Preference, Template

PERSON = {"id": "u-digest", "email": "reader@example.com"}


def _send(api: APIClient, **body: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/notifications/",
        {"recipient": PERSON, "category": "newsletter", **body},
        format="json",
    )
    assert response.status_code == 202, response.content
    return dict(response.json())


def test_choosing_a_daily_digest_keeps_the_category_and_batches_it(
    api: APIClient, api_key: tuple[ApiKey, str], client: Client
) -> None:
    Template.objects.create(
        tenant=api_key[0].tenant,
        key="news",
        content={"email": {"subject": "{{ headline }}", "text": "{{ unsubscribe_url }}"}},
    )
    first = _send(api, template="news", data={"headline": "One"})
    headers = Notification.objects.get(pk=first["id"]).content["email"]["headers"]
    path = headers["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    assert b"one email a day" in client.get(path).content

    page = client.post(path, {"choice": "digest"})

    assert page.status_code == 200 and b"18:00" in page.content
    assert not Preference.objects.filter(enabled=False).exists()  # not unsubscribed
    later = _send(api, template="news", data={"headline": "Two"})
    assert later["digest"]["key"] == "category-newsletter"
    assert {d["error_code"] for d in later["deliveries"]} == {"digest"}
