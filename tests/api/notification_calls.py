"""What the tests of POST/GET /api/v1/notifications/ send and count: the bodies, a client for
a raw key, the requests, and the rows stored."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from notify.models import Delivery, Notification, Recipient

URL = "/api/v1/notifications/"

EMAIL = {"subject": "Your password changed", "text": "Hi, it changed."}
SMS = {"text": "Your password changed."}
PUSH = {"title": "Password changed", "body": "Was it you?"}

OK_RECIPIENT = {"id": "u-bad", "email": "ada@example.com"}
GOOD = {"recipient": OK_RECIPIENT, "content": {"email": EMAIL}}


def keyed(raw: str) -> APIClient:
    """A client that sends the raw API key `raw`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def post(api: APIClient, body: Any, **headers: Any) -> Any:
    return api.post(URL, body, format="json", **headers)


def accept(api: APIClient, body: Any, **headers: str) -> dict[str, Any]:
    response = post(api, body, **headers)
    assert response.status_code == 202, response.content
    return dict(response.json())


def stored() -> tuple[int, int, int]:
    return Notification.objects.count(), Delivery.objects.count(), Recipient.objects.count()


def template(api: APIClient, key: str, content: dict[str, Any], locale: str = "") -> None:
    response = api.post(
        "/api/v1/templates/", {"key": key, "locale": locale, "content": content}, format="json"
    )
    assert response.status_code == 201, response.content
