from __future__ import annotations

import pytest

from notify.models import ApiKey, Template
from tests.services.digests.comments import COMMENTS


@pytest.fixture
def comments_template(api_key: tuple[ApiKey, str]) -> None:
    """The template the gathering tests' comments use, in the API key's tenant."""
    Template.objects.create(tenant=api_key[0].tenant, key="comments", content=COMMENTS)
