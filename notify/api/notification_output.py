"""What a notification and its deliveries look like in an answer: the serializers document the
shape in the schema, and the plain functions build it (they run on every 202)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from notify.api.digests import DigestOutput, digest_body
from notify.models.notifications import Delivery, Notification
from notify.services.accepting.notifications import notification_status


class DeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "to",
            "status",
            "attempts",
            "provider",
            "provider_message_id",
            "error_code",
            "last_error",
            "created_at",
            "updated_at",
            "sent_at",
            "delivered_at",
        ]


# One field instance, reused: DRF's own formatting without building a serializer per answer.
_TIME = serializers.DateTimeField()


def _time(value: Any, utc: bool) -> Any:
    """`utc`: the current time zone is UTC (in_utc), asked once per body, not per time."""
    if value is None:
        return None
    if utc and value.tzinfo is UTC:
        # What the field answers for a UTC time shown in UTC (every stored time, with the
        # default TIME_ZONE), without its conversions: a 202 of a batch formats ~5,000.
        return value.isoformat()[:-6] + "Z"
    return _TIME.to_representation(value)


def in_utc() -> bool:
    return timezone.get_current_timezone_name() == "UTC"


def delivery_body(d: Delivery, utc: bool) -> dict[str, Any]:
    """DeliveryOutput's representation, in plain code (it is on every 202)."""
    return {
        "id": str(d.id),
        "channel": d.channel,
        "to": d.to,
        "status": d.status,
        "attempts": d.attempts,
        "provider": d.provider,
        "provider_message_id": d.provider_message_id,
        "error_code": d.error_code,
        "last_error": d.last_error,
        "created_at": _time(d.created_at, utc),
        "updated_at": _time(d.updated_at, utc),
        "sent_at": _time(d.sent_at, utc),
        "delivered_at": _time(d.delivered_at, utc),
    }


def notification_body(
    n: Notification, deliveries: list[Delivery], *, utc: bool | None = None
) -> dict[str, Any]:
    """NotificationOutput's representation, in plain code. `utc`: whether the current time
    zone is UTC, when the caller has asked (a batch answer asks once for all its items)."""
    if utc is None:
        utc = in_utc()
    return {
        "id": str(n.id),
        "status": notification_status(deliveries),
        "created_at": _time(n.created_at, utc),
        "recipient": n.recipient.external_id,
        "category": n.category,
        "priority": n.get_priority_display(),
        "template": n.template_key,
        "template_version": n.template_version,
        "send_at": _time(n.send_at, utc),
        "strategy": n.strategy,
        "digest": digest_body(n),
        "deliveries": [delivery_body(d, utc) for d in deliveries],
    }


class NotificationOutput(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    recipient = serializers.CharField(source="recipient.external_id")
    priority = serializers.CharField(source="get_priority_display")
    template = serializers.CharField(source="template_key")
    deliveries = DeliveryOutput(many=True)
    digest = DigestOutput(allow_null=True, read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "status",
            "created_at",
            "recipient",
            "category",
            "priority",
            "template",
            "template_version",
            "send_at",
            "strategy",
            "digest",
            "deliveries",
        ]

    def get_status(self, obj: Notification) -> str:
        return notification_status(list(obj.deliveries.all()))

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        # The fields above document the shape; the body is built in one place.
        return notification_body(instance, list(instance.deliveries.all()))
