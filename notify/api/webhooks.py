"""GET/POST /api/v1/webhooks/, GET/DELETE /api/v1/webhooks/{id}/ and
POST /api/v1/webhooks/{id}/rotate-secret/. An endpoint belongs to the API key that registered
it: another key (even of the same tenant) gets a 404. The signing secret is in the answer to
creation and rotation only."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notify.api.auth import HasScope, caller_key
from notify.models.webhooks import WebhookEndpoint
from notify.services.webhooks.endpoints import (
    WEBHOOK_EVENTS,
    InvalidWebhook,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
)


class WebhookOutput(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(WEBHOOK_EVENTS),
        help_text="Delivery statuses sent to this endpoint; empty: all of them",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "disabled_reason", "created_at"]


class WebhookWithSecretOutput(WebhookOutput):
    secret = serializers.CharField(
        help_text="Signs every request (Notify-Signature). Shown only now: store it."
    )

    class Meta(WebhookOutput.Meta):
        fields = [*WebhookOutput.Meta.fields, "secret"]


class WebhookInput(serializers.Serializer):
    url = serializers.URLField(max_length=2048)
    events = serializers.ListField(
        child=serializers.ChoiceField(WEBHOOK_EVENTS),
        required=False,
        max_length=len(WEBHOOK_EVENTS),
        help_text="Delivery statuses to send; omitted or empty: all of them",
    )


@extend_schema(tags=["webhooks"])
class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookOutput
    pagination_class = None  # a handful per key (NOTIFY_WEBHOOK_MAX_ENDPOINTS)
    permission_classes = [HasScope]
    required_scopes = {"GET": "manage", "POST": "manage", "DELETE": "manage"}
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return WebhookEndpoint.objects.none()
        return WebhookEndpoint.objects.filter(api_key=caller_key(self.request)).order_by(
            "created_at"
        )

    @extend_schema(request=WebhookInput, responses={201: WebhookWithSecretOutput})
    def create(self, request: Request) -> Response:
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            endpoint = webhook_endpoint_create(api_key=caller_key(request), **data.validated_data)
        except InvalidWebhook as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from exc
        return Response(WebhookWithSecretOutput(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        webhook_endpoint_delete(endpoint=instance)

    @extend_schema(request=None, responses={200: WebhookWithSecretOutput})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new signing secret, in force at once; the old one stops working."""
        endpoint = webhook_endpoint_rotate_secret(endpoint=self.get_object())
        return Response(WebhookWithSecretOutput(endpoint).data)
