"""data_shape_errors: the limits on a request's `data`, checked without recursion."""

from __future__ import annotations

from typing import Any

from django.test import override_settings

from notify.validation.data import data_shape_errors


def test_data_nested_far_past_the_stack_gets_one_depth_error() -> None:
    data: dict[str, Any] = {}
    for _ in range(100_000):  # json.dumps or a recursive walk would raise RecursionError
        data = {"a": [data]}

    assert data_shape_errors(data) == ["Nested more than 10 levels deep (NOTIFY_DATA_MAX_DEPTH)."]


@override_settings(NOTIFY_DATA_MAX_ITEMS=5)
def test_items_are_counted_through_every_level() -> None:
    assert data_shape_errors({"a": {"b": [1, 2]}, "c": 3}) == []  # a, b, 1, 2, c
    assert data_shape_errors({"a": {"b": [1, 2, 3]}, "c": 3}) == [
        "More than 5 keys and list items in all (NOTIFY_DATA_MAX_ITEMS)."
    ]


def test_bytes_are_counted_as_utf8() -> None:
    # 30,000 characters of 3 bytes each: within a character count, over the byte limit.
    errors = data_shape_errors({"s": "€" * 30_000})

    assert errors == ["90009 bytes as JSON; at most 65536 (NOTIFY_DATA_MAX_BYTES)."]
