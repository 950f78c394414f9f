"""Serializers for message content, inline or as a template's parts."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from notify.validation.fields import TextField

# FCM rejects messages over 4096 bytes of payload.
PUSH_MAX_BYTES = 4096


class EmailContentSerializer(serializers.Serializer):
    subject = TextField(single_line=True, max_length=998)
    text = TextField(max_length=100_000, required=False, allow_blank=True)
    html = TextField(max_length=200_000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("text") and not attrs.get("html"):
            raise serializers.ValidationError({"text": ["Give text, html or both."]})
        return attrs


class SmsContentSerializer(serializers.Serializer):
    text = TextField(max_length=1600)


class PushContentSerializer(serializers.Serializer):
    title = TextField(single_line=True, max_length=256)
    body = TextField(max_length=2048, required=False, allow_blank=True)
    # FCM's name; shadows Serializer.data, unused on an input serializer.
    data = serializers.DictField(  # type: ignore[assignment]
        child=TextField(max_length=2048), required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs.get("data", {})) > 50:
            raise serializers.ValidationError({"data": ["At most 50 keys."]})
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
