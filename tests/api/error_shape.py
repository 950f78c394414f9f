"""The API's JSON error shape, as the hostile-input tests check it."""

from __future__ import annotations

from typing import Any


def assert_error_shape(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str)
    return body
