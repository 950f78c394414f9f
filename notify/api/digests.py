"""The `digest` of a notification request, and of a notification as the API shows it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notify.models.notifications import Notification
from notify.services.digests.gathering import MAX_ITEMS, digest_summary
from notify.services.digests.rules import BadRule, schedule_parse, window_parse


class DigestInput(serializers.Serializer):
    key = serializers.SlugField(
        max_length=100,
        help_text="Messages to the same recipient with the same key are sent together.",
    )
    window = serializers.CharField(
        required=False,
        max_length=16,
        help_text='A burst window opened by the first message: "30s", "10m", "2h", "1d" '
        "(at most 7d).",
    )
    schedule = serializers.CharField(
        required=False,
        max_length=32,
        help_text='A local time in the recipient\'s time zone: "daily@09:00" or '
        '"weekly@mon@09:00".',
    )
    max_items = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ITEMS,
        help_text=f"Flush as soon as this many messages have joined (at most {MAX_ITEMS}, "
        "which also applies when not given).",
    )

    def validate_window(self, value: str) -> str:
        try:
            window_parse(value)
        except BadRule as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_schedule(self, value: str) -> str:
        try:
            schedule_parse(value)
        except BadRule as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("window" in attrs) == ("schedule" in attrs):
            raise serializers.ValidationError({"window": ["Give either a window or a schedule."]})
        return attrs


_TIME = serializers.DateTimeField()


def digest_body(notification: Notification) -> dict[str, Any] | None:
    summary = digest_summary(notification)
    if summary is not None:
        summary["flush_at"] = _TIME.to_representation(summary["flush_at"])
    return summary


class DigestOutput(serializers.Serializer):
    """Documents the shape digest_summary builds."""

    id = serializers.UUIDField()
    key = serializers.CharField()
    status = serializers.ChoiceField(["open", "sent", "cancelled", "failed"])
    flush_at = serializers.DateTimeField()
    notification_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="On a digest's own notification: the notifications it carried, oldest first.",
    )
