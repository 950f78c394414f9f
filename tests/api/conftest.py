from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.services.access.apikeys import api_key_create


@pytest.fixture
def producer(db: Any) -> APIClient:
    """A high-volume producer: configured with its own limit, not exempted."""
    _, raw = api_key_create(name="producer", rate_limit="100000/s")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
