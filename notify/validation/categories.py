"""What a category may hold: the API (/api/v1/categories/) and the admin's category form check
a category with this one serializer, so the admin accepts no channel the API would refuse."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notify.models.preferences import Category
from notify.validation.fields import ChannelField


class CategorySerializer(serializers.ModelSerializer):
    key = serializers.SlugField(max_length=100)
    default_channels = serializers.ListField(
        child=ChannelField(),
        required=False,
        default=list,
        help_text="Channels on by default (empty: all)",
    )
    fallback_order = serializers.ListField(
        child=ChannelField(),
        required=False,
        default=list,
        help_text="Order a fallback notification of this category tries its channels in when "
        "it names no `channels`: these first, then any other channel with content",
    )

    def validate_default_channels(self, value: list[str]) -> list[str]:
        return _unique(value)

    def validate_fallback_order(self, value: list[str]) -> list[str]:
        return _unique(value)

    class Meta:
        model = Category
        fields = ["key", "name", "critical", "default_channels", "fallback_order", "created_at"]
        read_only_fields = ["created_at"]
        validators: list[Any] = []


def _unique(channels: list[str]) -> list[str]:
    if len(set(channels)) != len(channels):
        raise serializers.ValidationError("Channels must be unique.")
    return channels
