from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.services.access.apikeys import api_key_create


def client_for(raw: str, *, lenient: bool = False) -> APIClient:
    """A client calling with the API key `raw`. `lenient`: an error the server did not turn
    into a response comes back as the 500 a caller would get, instead of raising here."""
    client = APIClient(raise_request_exception=not lenient)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def producer(db: Any) -> APIClient:
    """A high-volume producer: configured with its own limit, not exempted."""
    _, raw = api_key_create(name="producer", rate_limit="100000/s")
    return client_for(raw)
