"""PUT/GET /api/v1/recipients/{id}/ and the recipient's push devices."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notify.api.auth import HasScope, caller_key
from notify.models.recipients import Device, Recipient
from notify.services.recipients.recipients import device_register, device_remove, recipient_upsert
from notify.validation.fields import TextField
from notify.validation.recipients import DeviceInput, RecipientUpsertInput


class DeviceOutput(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "token", "platform", "active", "deactivated_reason", "created_at"]


# A recipient id in a URL obeys the rules of one in a body (RecipientInput.id).
_PATH_ID = TextField(single_line=True, max_length=255)


def recipient_id_valid(recipient_id: str) -> str:
    """The recipient id from the path, checked before it names a row to create: a
    300-character id used to reach the database and fail there (a 500)."""
    try:
        return str(_PATH_ID.run_validation(recipient_id))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"recipient_id": exc.detail}) from exc


class RecipientOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id")
    devices = DeviceOutput(many=True)
    quiet_hours = serializers.SerializerMethodField()

    def get_quiet_hours(self, obj: Recipient) -> dict[str, str] | None:
        if obj.quiet_hours_start is None or obj.quiet_hours_end is None:
            return None
        return {
            "start": obj.quiet_hours_start.strftime("%H:%M"),
            "end": obj.quiet_hours_end.strftime("%H:%M"),
        }

    class Meta:
        model = Recipient
        fields = [
            "id",
            "email",
            "phone",
            "locale",
            "timezone",
            "quiet_hours",
            "devices",
            "created_at",
            "updated_at",
        ]


def _recipient(request: Request, recipient_id: str) -> Recipient:
    return get_object_or_404(
        Recipient.objects.prefetch_related("devices"),
        tenant=caller_key(request).tenant,
        external_id=recipient_id,
    )


@extend_schema(tags=["recipients"])
class RecipientDetailApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "PUT": "send"}

    @extend_schema(responses=RecipientOutput)
    def get(self, request: Request, recipient_id: str) -> Response:
        return Response(RecipientOutput(_recipient(request, recipient_id)).data)

    @extend_schema(request=RecipientUpsertInput, responses=RecipientOutput)
    def put(self, request: Request, recipient_id: str) -> Response:
        recipient_id_valid(recipient_id)
        data = RecipientUpsertInput(data=request.data)
        data.is_valid(raise_exception=True)
        recipient_upsert(
            tenant=caller_key(request).tenant, external_id=recipient_id, **data.validated_data
        )
        return Response(RecipientOutput(_recipient(request, recipient_id)).data)


@extend_schema(tags=["recipients"])
class DeviceListApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "send"}

    @extend_schema(responses=DeviceOutput(many=True))
    def get(self, request: Request, recipient_id: str) -> Response:
        recipient = _recipient(request, recipient_id)
        return Response(DeviceOutput(recipient.devices.all(), many=True).data)

    @extend_schema(request=DeviceInput, responses={201: DeviceOutput})
    def post(self, request: Request, recipient_id: str) -> Response:
        data = DeviceInput(data=request.data)
        data.is_valid(raise_exception=True)
        recipient = _recipient(request, recipient_id)
        device = device_register(recipient=recipient, **data.validated_data)
        return Response(DeviceOutput(device).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["recipients"])
class DeviceDetailApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"DELETE": "send"}

    @extend_schema(responses={204: None})
    def delete(self, request: Request, recipient_id: str, device_id: Any) -> Response:
        device = get_object_or_404(
            Device,
            id=device_id,
            recipient__tenant=caller_key(request).tenant,
            recipient__external_id=recipient_id,
        )
        device_remove(device=device)
        return Response(status=status.HTTP_204_NO_CONTENT)
