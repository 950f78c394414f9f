from __future__ import annotations

import contextlib
from collections.abc import Iterator

import firebase_admin
import pytest

from channels import get_channel


def _forget_channels() -> None:
    # Channels (and their per-thread SDK clients) are built once per process; a test that
    # changes their settings needs new ones, and so does the next test.
    get_channel.cache_clear()
    with contextlib.suppress(ValueError):  # ValueError: not built yet
        firebase_admin.delete_app(firebase_admin.get_app("notify"))


@pytest.fixture
def fresh_channels() -> Iterator[None]:
    _forget_channels()
    yield
    _forget_channels()
