"""Property-based: schemathesis generates requests from /api/schema/ and checks every
answer: no 5xx, status codes and bodies as documented."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from notify.services.access.apikeys import api_key_create
from notify.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def bearer(transactional_db: Any) -> dict[str, str]:
    # Real commits: schemathesis calls the WSGI app directly, and Django closes a connection
    # left inside a transaction at the end of each request.
    _, raw = api_key_create(name="fuzz")
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@hypothesis_settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@override_settings(NOTIFY_API_RATE="")
def test_every_operation_answers_as_documented(case: Any, bearer: dict[str, str]) -> None:
    # The two "data acceptance" checks compare our answers with what the schema alone allows;
    # business rules it cannot express (a valid E.164 number, template xor content, a known
    # time zone) make them fire on correct behaviour. Everything else is checked: no 5xx,
    # documented status codes, content types, headers and bodies.
    case.call_and_validate(
        headers=bearer,
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
    )
