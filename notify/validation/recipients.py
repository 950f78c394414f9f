"""What a recipient's body may hold: PUT /api/v1/recipients/{id}/ and each row of a bulk
import (services/recipients/imports.py) are checked by the same serializers."""

from __future__ import annotations

from rest_framework import serializers

from notify.models.recipients import Device
from notify.validation.fields import (
    LocaleField,
    PhoneField,
    PushTokenField,
    TextField,
    TimezoneField,
)


class DeviceInput(serializers.Serializer):
    token = PushTokenField()
    platform = serializers.ChoiceField(Device.Platform.values, default="unknown")


class QuietHours(serializers.Serializer):
    start = serializers.TimeField(help_text="Local time in the recipient's timezone, e.g. 22:00")
    end = serializers.TimeField(help_text="e.g. 07:00; may be earlier than start (overnight)")


class RecipientUpsertInput(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = PhoneField(required=False, allow_blank=True)
    locale = LocaleField(required=False, allow_blank=True)
    timezone = TimezoneField(required=False, allow_blank=True)
    push_tokens = serializers.ListField(child=DeviceInput(), required=False, max_length=20)
    quiet_hours = QuietHours(required=False, allow_null=True)


def _addressable(value: str) -> None:
    if "/" in value:  # /api/v1/recipients/{id}/ could never reach it
        raise serializers.ValidationError("Must not contain '/'.")


class RecipientImportRow(RecipientUpsertInput):
    """One imported recipient: the body of PUT /api/v1/recipients/{id}/, with its id."""

    id = TextField(single_line=True, max_length=255, validators=[_addressable])
