"""GET /api/v1/deliveries/ (dead letters: filter failed deliveries by what went wrong) and
POST /api/v1/deliveries/replay/: parse, call the replay service, shape the answer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from channels import all_providers
from notify.api.auth import HasScope, caller_key
from notify.api.notification_output import DeliveryOutput
from notify.api.notifications import CHANNELS, NewestFirst
from notify.models.notifications import Delivery, DeliveryAttempt, DeliveryStatus
from notify.models.operations import Replay
from notify.services.operations.replay import deliveries_filter, deliveries_replay
from notify.validation.fields import ChannelField

ERROR_CLASSES = [o for o in DeliveryAttempt.Outcome.values if o != "sent"]
MAX_REPLAY_IDS = 1000


class DeliveryListOutput(DeliveryOutput):
    notification_id = serializers.UUIDField(read_only=True)

    class Meta(DeliveryOutput.Meta):
        fields = [*DeliveryOutput.Meta.fields, "notification_id"]


class DeliveryFilter(serializers.Serializer):
    channel = ChannelField(required=False)
    provider = serializers.ChoiceField(all_providers(), required=False)
    error_code = serializers.CharField(max_length=64, required=False)
    outcome = serializers.ChoiceField(
        ERROR_CLASSES, required=False, help_text="Error class of the last attempt"
    )
    failed_after = serializers.DateTimeField(
        required=False, help_text="Last changed (for a failed delivery: failed) at or after"
    )
    failed_before = serializers.DateTimeField(required=False, help_text="Last changed before")


class DeliveryListFilter(DeliveryFilter):
    status = serializers.ChoiceField(DeliveryStatus.values, required=False)


class ReplayFilter(DeliveryFilter):
    def to_internal_value(self, data: Any) -> Any:
        # A misspelt criterion must not widen a replay to everything that failed.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [f"Not a filter; use {', '.join(self.fields)}."] for name in unknown}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "Give at least one criterion (e.g. failed_after to replay an outage)."
            )
        return attrs


class ReplayInput(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_empty=False,
        max_length=MAX_REPLAY_IDS,
        help_text=f"Delivery ids, at most {MAX_REPLAY_IDS}",
    )
    filter = ReplayFilter(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give either `ids` or `filter`."]}
            )
        return attrs


ReplayOutput = inline_serializer(
    "ReplayOutput",
    {
        "replay_id": serializers.UUIDField(),
        "count": serializers.IntegerField(help_text="Failed deliveries put back in line"),
    },
)


@extend_schema(tags=["deliveries"])
class DeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = DeliveryListOutput
    pagination_class = NewestFirst
    permission_classes = [HasScope]
    required_scopes = {"GET": "manage", "POST": "manage"}

    def get_queryset(self) -> QuerySet[Delivery]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Delivery.objects.none()
        qs = Delivery.objects.filter(notification__tenant=caller_key(self.request).tenant)
        filters = DeliveryListFilter(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        if status_ := params.pop("status", None):
            qs = qs.filter(status=status_)
        return deliveries_filter(qs, **params)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=DeliveryStatus.values),
            OpenApiParameter("channel", enum=CHANNELS),
            OpenApiParameter("provider", enum=list(all_providers())),
            OpenApiParameter("error_code", description="e.g. 21211, mailbox_full"),
            OpenApiParameter(
                "outcome", enum=ERROR_CLASSES, description="Error class of the last attempt"
            ),
            OpenApiParameter("failed_after", type=str, description="ISO 8601; last change"),
            OpenApiParameter("failed_before", type=str, description="ISO 8601; last change"),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReplayInput, responses={202: ReplayOutput})
    @action(detail=False, methods=["post"])
    def replay(self, request: Request) -> Response:
        """Put failed deliveries back in line with a fresh attempt budget. Only `failed` ones
        move: replaying again moves nothing (count 0). Every replay is recorded."""
        data = ReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = caller_key(request)
        replay = deliveries_replay(
            delivery_ids=data.validated_data.get("ids"),
            filter=data.validated_data.get("filter"),
            requested_by=str(key),
            source=Replay.Source.API,
            tenant=key.tenant,
        )
        return Response(
            {"replay_id": str(replay.id), "count": replay.count}, status=status.HTTP_202_ACCEPTED
        )
