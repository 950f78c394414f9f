"""POST/GET /api/v1/notifications/ and cancel: parse, call a service, shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from channels import names as channel_names
from notify.api.auth import HasScope, caller_key
from notify.api.batch_check import item_check
from notify.api.digests import DigestInput
from notify.api.errors import Conflict, Unprocessable
from notify.api.idempotency import REPLAY_HELP, idempotency_key_header, idempotency_key_parameter
from notify.api.notification_output import NotificationOutput, notification_body
from notify.api.pagination import CheckedCursorPagination
from notify.models.notifications import Delivery, DeliveryStatus, Notification, Priority
from notify.services.accepting.batch import notification_submit
from notify.services.accepting.notifications import (
    IdempotencyInFlight,
    IdempotencyMismatch,
    NothingToSend,
    notification_cancel,
    request_fingerprint,
)
from notify.services.accepting.submission import InvalidRequest
from notify.validation.content import ContentSerializer
from notify.validation.data import TemplateDataField
from notify.validation.fields import (
    ChannelField,
    LocaleField,
    PhoneField,
    PushTokenField,
    TextField,
    TimezoneField,
)

# The registered channels, for the schema's query-parameter enums (validation reads the
# registry on every request: ChannelField).
CHANNELS = list(channel_names())
PRIORITIES = [p.label for p in Priority]


class RecipientInput(serializers.Serializer):
    id = TextField(single_line=True, max_length=255)
    email = serializers.EmailField(required=False, max_length=254)
    phone = PhoneField(required=False)
    push_tokens = serializers.ListField(child=PushTokenField(), required=False, max_length=20)
    locale = LocaleField(required=False)
    timezone = TimezoneField(required=False)


_LAST_YEAR = 9000


class NotificationInput(serializers.Serializer):
    recipient = RecipientInput()
    channels = serializers.ListField(
        child=ChannelField(), required=False, allow_empty=False, max_length=len(CHANNELS)
    )
    template = serializers.SlugField(max_length=100, required=False)
    # "data" is the contract's name for the template context; it shadows Serializer.data,
    # which an input serializer never uses.
    data = TemplateDataField(required=False, default=dict)  # type: ignore[assignment]
    content = ContentSerializer(required=False)
    category = serializers.SlugField(
        max_length=100,
        required=False,
        help_text="A category key (letters, digits, - and _), e.g. billing. An unsubscribe link "
        "opts the recipient out of it, creating the category if no operator has yet.",
    )
    priority = serializers.ChoiceField(PRIORITIES, default="normal")
    send_at = serializers.DateTimeField(required=False)
    strategy = serializers.ChoiceField(
        ["all", "fallback"],
        default="all",
        help_text="all: every channel at once. fallback: one channel at a time in the order "
        "of `channels` (default: every channel with content, the ones the category's "
        "fallback_order lists first, in its order, then email, sms, push), the next only if "
        "the previous cannot reach the person (no contact point, opted out, permanent "
        "failure, including a bounce or undelivered text the provider reports later) and the "
        "notification was not cancelled.",
    )
    digest = DigestInput(
        required=False,
        allow_null=True,
        help_text="Join the recipient's open digest with this key instead of going out alone; "
        "needs a template. Critical messages never wait in a digest.",
    )

    def validate_send_at(self, value: datetime) -> datetime:
        # Quiet hours move a send by up to a day in the recipient's zone: a time near the
        # calendar's end would overflow there, so the far future is refused here.
        if value.year >= _LAST_YEAR:
            raise serializers.ValidationError(f"Must be before the year {_LAST_YEAR}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("template")) == bool(attrs.get("content")):
            raise serializers.ValidationError(
                {"template": ["Give either a template (with data) or inline content."]}
            )
        if attrs.get("channels") and len(set(attrs["channels"])) != len(attrs["channels"]):
            raise serializers.ValidationError({"channels": ["Channels must be unique."]})
        if attrs.get("digest") and (not attrs.get("template") or attrs.get("send_at")):
            raise serializers.ValidationError(
                {"digest": ["A digest needs a template, and cannot be combined with send_at."]}
            )
        return attrs


def refusal_error(
    exc: InvalidRequest | NothingToSend | IdempotencyInFlight | IdempotencyMismatch,
) -> APIException:
    """The API error a notification the service refused is answered with (single or batch)."""
    if isinstance(exc, InvalidRequest):
        return serializers.ValidationError(exc.fields)
    if isinstance(exc, NothingToSend):
        return serializers.ValidationError(
            {
                "recipient": [
                    "No contact point for any channel with content: give an email, phone or "
                    "push token."
                ]
            }
        )
    if isinstance(exc, IdempotencyInFlight):
        return Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        )
    return Unprocessable("This Idempotency-Key was used with a different request body.")


class ListFilters(serializers.Serializer):
    status = serializers.ChoiceField(DeliveryStatus.values, required=False)
    channel = ChannelField(required=False)
    recipient = serializers.CharField(max_length=255, required=False)


class NewestFirst(CheckedCursorPagination):
    ordering = "-created_at"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema(tags=["notifications"])
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = NotificationOutput
    pagination_class = NewestFirst
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "send"}
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Notification.objects.none()
        qs = (
            Notification.objects.filter(tenant=caller_key(self.request).tenant)
            .select_related("recipient", "digest", "digest_sent")
            .prefetch_related(Prefetch("deliveries", Delivery.objects.order_by("created_at")))
        )
        filters = ListFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        if status_ := params.get("status"):
            qs = qs.filter(deliveries__status=status_)
        if channel := params.get("channel"):
            qs = qs.filter(deliveries__channel=channel)
        if recipient := params.get("recipient"):
            qs = qs.filter(recipient__external_id=recipient)
        return qs.distinct() if (status_ or channel) else qs

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                enum=DeliveryStatus.values,
                description="Notifications with a delivery in this status",
            ),
            OpenApiParameter("channel", enum=CHANNELS),
            OpenApiParameter("recipient", description="The caller's recipient id"),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=NotificationInput,
        responses={202: NotificationOutput},
        parameters=[idempotency_key_parameter(REPLAY_HELP)],
    )
    def create(self, request: Request) -> Response:
        raw = request.data
        # The batch's plain-code check for the common shape; the serializer for the rest and
        # for every error (a body carrying a batch item's idempotency_key is not a single one).
        single = isinstance(raw, dict) and "idempotency_key" not in raw
        fields = item_check(raw) if single else None
        if fields is None:
            data = NotificationInput(data=raw)
            data.is_valid(raise_exception=True)
            fields = dict(data.validated_data)
        key = idempotency_key_header(request)
        try:
            answer = notification_submit(
                api_key=caller_key(request),
                data=fields,
                idempotency_key=key,
                fingerprint=request_fingerprint(raw),
            )
        except (InvalidRequest, NothingToSend, IdempotencyInFlight, IdempotencyMismatch) as exc:
            raise refusal_error(exc) from exc
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
        body = notification_body(answer.notification, answer.deliveries)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(
        request=None,
        responses={200: NotificationOutput},
        description="Cancel the deliveries not yet sent. One already sent cannot be called "
        "back, but a fallback notification tries no further channel if it then fails.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        notification = self.get_object()
        notification_cancel(notification=notification)
        fresh = self.get_queryset().get(pk=notification.pk)
        return Response(NotificationOutput(fresh).data)
