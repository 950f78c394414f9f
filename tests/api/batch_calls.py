"""What the tests of POST /api/v1/notifications/batch/ send: an item's body, and a batch of
them."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

URL = "/api/v1/notifications/batch/"


def item_body(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "recipient": {"id": f"user-{n}", "email": f"user{n}@example.com"},
        "content": {"email": {"subject": f"Order {n} shipped", "text": "On its way."}},
        **extra,
    }


def post_items(api: APIClient, items: Any) -> Any:
    return api.post(URL, {"notifications": items}, format="json")
