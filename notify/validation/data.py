"""The `data` of a request (a template's context), bounded in depth, item count and size:
every loop and filter in a template works on it, for every recipient of a broadcast."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import serializers


def data_shape_errors(data: dict[str, Any]) -> list[str]:
    """What is wrong with the shape of `data`, one message per limit exceeded. Walks the
    structure without recursion, so a deeply nested body cannot exhaust the stack."""
    max_depth, max_items = settings.NOTIFY_DATA_MAX_DEPTH, settings.NOTIFY_DATA_MAX_ITEMS
    items = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        items += len(children)
        if items > max_items:
            return [f"More than {max_items} keys and list items in all (NOTIFY_DATA_MAX_ITEMS)."]
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > max_depth:
                    return [f"Nested more than {max_depth} levels deep (NOTIFY_DATA_MAX_DEPTH)."]
                stack.append((child, depth + 1))
    size = len(json.dumps(data, ensure_ascii=False, default=str).encode())
    if size > settings.NOTIFY_DATA_MAX_BYTES:
        limit = settings.NOTIFY_DATA_MAX_BYTES
        return [f"{size} bytes as JSON; at most {limit} (NOTIFY_DATA_MAX_BYTES)."]
    return []


class TemplateDataField(serializers.DictField):
    """A JSON object of any values, within the NOTIFY_DATA_MAX_* limits."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value: dict[str, Any] = super().to_internal_value(data)
        errors = data_shape_errors(value)
        if errors:
            raise serializers.ValidationError(errors)
        return value
