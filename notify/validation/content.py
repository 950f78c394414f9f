"""Serializers for message content, inline or as a template's parts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from notify.validation.fields import CONTROL_CHARS, LINE_BREAKS, TextField

# FCM rejects messages over 4096 bytes of payload.
PUSH_MAX_BYTES = 4096
PUSH_MAX_KEYS = 50


@dataclass(frozen=True)
class Part:
    max_length: int
    required: bool = False
    single_line: bool = False


# The rules for every part of every channel: the serializers below apply them to what a
# caller sends, `rendered_errors` to what a template produced.
PARTS: dict[str, dict[str, Part]] = {
    "email": {
        "subject": Part(998, required=True, single_line=True),
        "text": Part(100_000),
        "html": Part(200_000),
    },
    "sms": {"text": Part(1600, required=True)},
    "push": {"title": Part(256, required=True, single_line=True), "body": Part(2048)},
}
PUSH_DATA_VALUE = Part(2048)


def _field(channel: str, name: str) -> TextField:
    part = PARTS[channel][name]
    if part.required:
        return TextField(single_line=part.single_line, max_length=part.max_length)
    return TextField(
        single_line=part.single_line, max_length=part.max_length, required=False, allow_blank=True
    )


def rendered_errors(content: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The serializers' checks, as plain code: run on every rendered message, so that data
    cannot smuggle a newline into a subject or blow the push size limit, at a fraction of a
    serializer's cost."""
    errors: list[tuple[str, str]] = []
    for channel, parts in content.items():
        for name, part in PARTS[channel].items():
            if name in parts:
                errors += [(f"{channel}.{name}", m) for m in _text_errors(parts[name], part)]
            elif part.required:
                errors.append((f"{channel}.{name}", "This field is required."))
    email = content.get("email")
    if email is not None and not email.get("text") and not email.get("html"):
        errors.append(("email.text", "Give text, html or both."))
    push = content.get("push")
    if push is not None:
        data = push.get("data") or {}
        for key, value in data.items():
            errors += [(f"push.data.{key}", m) for m in _text_errors(value, PUSH_DATA_VALUE)]
        if len(data) > PUSH_MAX_KEYS:
            errors.append(("push.data", f"At most {PUSH_MAX_KEYS} keys."))
        size = len(json.dumps(push, ensure_ascii=False).encode())
        if size > PUSH_MAX_BYTES:
            errors.append(
                ("push.data", f"Push payload is {size} bytes; FCM allows {PUSH_MAX_BYTES}.")
            )
    return errors


def _text_errors(value: str, part: Part) -> list[str]:
    found = []
    if part.required and not value:
        found.append("This field may not be blank.")
    if len(value) > part.max_length:
        found.append(f"Ensure this field has no more than {part.max_length} characters.")
    if CONTROL_CHARS.search(value):
        found.append("Control characters are not allowed.")
    if part.single_line and LINE_BREAKS.search(value):
        found.append("Must be a single line.")
    return found


class EmailContentSerializer(serializers.Serializer):
    subject = _field("email", "subject")
    text = _field("email", "text")
    html = _field("email", "html")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("text") and not attrs.get("html"):
            raise serializers.ValidationError({"text": ["Give text, html or both."]})
        return attrs


class SmsContentSerializer(serializers.Serializer):
    text = _field("sms", "text")


class PushContentSerializer(serializers.Serializer):
    title = _field("push", "title")
    body = _field("push", "body")
    # FCM's name; shadows Serializer.data, unused on an input serializer.
    data = serializers.DictField(  # type: ignore[assignment]
        child=TextField(max_length=PUSH_DATA_VALUE.max_length), required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs.get("data", {})) > PUSH_MAX_KEYS:
            raise serializers.ValidationError({"data": [f"At most {PUSH_MAX_KEYS} keys."]})
        size = len(json.dumps(attrs, ensure_ascii=False).encode())
        if size > PUSH_MAX_BYTES:
            raise serializers.ValidationError(
                {"data": [f"Push payload is {size} bytes; FCM allows {PUSH_MAX_BYTES}."]}
            )
        return attrs


class ContentSerializer(serializers.Serializer):
    email = EmailContentSerializer(required=False)
    sms = SmsContentSerializer(required=False)
    push = PushContentSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give content for at least one channel.")
        return attrs
