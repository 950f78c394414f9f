"""Fixtures for the admin tests; the row builders live in helpers.py."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Recipient
from tests.admin.helpers import make_recipient


@pytest.fixture
def recipient(db: Any) -> Recipient:
    return make_recipient()
