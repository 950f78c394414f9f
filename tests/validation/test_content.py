"""The plain-code check run on every rendered message must refuse exactly what the content
serializer refuses, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from notify.validation.content import ContentSerializer, rendered_errors

CASES: list[dict[str, Any]] = [
    {"email": {"subject": "Hello", "text": "t"}},
    {"email": {"subject": "Hello", "html": "<p>t</p>"}, "sms": {"text": "t"}},
    {"email": {"subject": "Line one\nLine two", "text": "t"}},
    {"email": {"subject": "Bell\x07", "text": "t"}},
    {"email": {"subject": "Hello"}},
    {"email": {"subject": "", "text": "t"}},
    {"email": {"text": "t"}},
    {"sms": {"text": "x" * 1601}},
    {"sms": {"text": "x" * 1600}},
    {"sms": {"text": ""}},
    {"push": {"title": "t", "body": "b", "data": {"k": "v"}}},
    {"push": {"title": "t\r"}},
    {"push": {"title": "t", "data": {f"k{i}": "v" for i in range(51)}}},
    {"push": {"title": "t", "data": {f"k{i}": "v" * 100 for i in range(45)}}},
    {"push": {"title": "t", "data": {"k": "v\x00"}}},
]


@pytest.mark.parametrize("content", CASES)
def test_rendered_errors_agree_with_the_serializer(content: dict[str, Any]) -> None:
    serializer = ContentSerializer(data=content)
    valid = serializer.is_valid()
    errors = rendered_errors(content)
    assert valid == (not errors), (serializer.errors, errors)
    if not valid:
        channels = {field.split(".")[0] for field, _ in errors}
        assert channels == set(serializer.errors)
