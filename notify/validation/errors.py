"""Validation errors in the shape every 4xx answer and every import report uses."""

from __future__ import annotations

from typing import Any


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """A validation error's detail as {"field.path": [messages]}: nested serializers and
    list items become dotted paths (`recipient.email`, `items.3.to`)."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in field_errors(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list) and detail and all(isinstance(d, str) for d in detail):
        out[prefix or "non_field_errors"] = [str(d) for d in detail]
    elif isinstance(detail, list):
        for i, item in enumerate(detail):
            for k, v in field_errors(item, f"{prefix}.{i}" if prefix else str(i)).items():
                out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out
