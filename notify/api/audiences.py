"""Topics (subscribe/unsubscribe) and broadcasts (one message to a list or a topic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notify.api.auth import HasScope, caller_key
from notify.api.idempotency import REPLAY_HELP, idempotency_key_header, idempotency_key_parameter
from notify.api.notifications import NotificationInput, RecipientInput, refusal_error
from notify.api.recipients import recipient_id_valid
from notify.models.audiences import Broadcast, Topic
from notify.models.recipients import Recipient
from notify.services.accepting.notifications import (
    IdempotencyInFlight,
    IdempotencyMismatch,
    request_fingerprint,
)
from notify.services.accepting.submission import InvalidRequest
from notify.services.audiences.broadcasts import (
    broadcast_cancel,
    broadcast_check,
    broadcast_sample,
    broadcast_submit,
    topic_subscribe,
    topic_unsubscribe,
)
from notify.services.audiences.progress import broadcast_progress
from notify.services.recipients.recipients import recipient_upsert


class TopicSerializer(serializers.ModelSerializer):
    key = serializers.SlugField(max_length=100)
    subscribers = serializers.SerializerMethodField()

    class Meta:
        model = Topic
        fields = ["key", "name", "subscribers", "created_at"]
        read_only_fields = ["created_at"]
        validators: list[Any] = []

    def get_subscribers(self, obj: Topic) -> int:
        return obj.subscriptions.count()


@extend_schema(tags=["audiences"])
class TopicViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TopicSerializer
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "manage", "DELETE": "manage"}
    lookup_field = "key"

    def get_queryset(self) -> QuerySet[Topic]:
        if getattr(self, "swagger_fake_view", False):
            return Topic.objects.none()
        return Topic.objects.filter(tenant=caller_key(self.request).tenant).order_by("key")

    def create(self, request: Request) -> Response:
        data = TopicSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        topic, _ = Topic.objects.get_or_create(
            tenant=caller_key(request).tenant,
            key=data.validated_data["key"],
            defaults={"name": data.validated_data.get("name", "")},
        )
        return Response(TopicSerializer(topic).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["audiences"])
class SubscriptionApi(APIView):
    """PUT subscribes the recipient (created if new), DELETE unsubscribes."""

    permission_classes = [HasScope]
    required_scopes = {"PUT": "send", "DELETE": "send"}

    @extend_schema(request=None, responses={204: None})
    def put(self, request: Request, key: str, recipient_id: str) -> Response:
        recipient_id_valid(recipient_id)
        tenant = caller_key(request).tenant
        topic = get_object_or_404(Topic, tenant=tenant, key=key)
        topic_subscribe(
            topic=topic, recipient=recipient_upsert(tenant=tenant, external_id=recipient_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, key: str, recipient_id: str) -> Response:
        tenant = caller_key(request).tenant
        topic = get_object_or_404(Topic, tenant=tenant, key=key)
        recipient = get_object_or_404(Recipient, tenant=tenant, external_id=recipient_id)
        topic_unsubscribe(topic=topic, recipient=recipient)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BroadcastInput(NotificationInput):
    recipient = None  # type: ignore[assignment]
    recipients = serializers.ListField(child=RecipientInput(), required=False, allow_empty=False)
    topic = serializers.SlugField(max_length=100, required=False)

    def to_internal_value(self, data: Any) -> Any:
        # The cap first, on the raw list: validating 200,000 entries one by one only to refuse
        # the list took seconds.
        people = data.get("recipients") if isinstance(data, Mapping) else None
        limit = self.context["max_recipients"]
        if isinstance(people, list) and len(people) > limit:
            raise serializers.ValidationError(
                {"recipients": [f"At most {limit} recipients per broadcast."]}
            )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if bool(attrs.get("recipients")) == bool(attrs.get("topic")):
            raise serializers.ValidationError(
                {"recipients": ["Give either recipients (a list) or a topic."]}
            )
        return attrs


_OWN_KEYS = (
    "Broadcasts keep their keys apart from notifications': a key used for a notification "
    "neither replays nor blocks a broadcast."
)


class BroadcastOutput(serializers.ModelSerializer):
    topic = serializers.CharField(source="topic.key", default=None)
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "status",
            "reason",
            "total",
            "expanded",
            "topic",
            "deliveries",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "status": {
                "help_text": "accepted, then expanding (chunk by chunk), and expanded once "
                "every recipient is; cancelled by cancel. halted: rendering its messages used "
                "up the broadcast's render budget (NOTIFY_RENDER_MAX_BROADCAST_SECONDS), so the "
                "recipients not expanded by then get nothing; `reason` says so."
            },
            "reason": {"help_text": "Why the broadcast was halted; empty otherwise."},
        }

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "The broadcast's deliveries per status. A large broadcast's counts "
            "may be reused for up to twenty times what counting them took "
            "(NOTIFY_BROADCAST_PROGRESS_KEEP_FROM_SECONDS); a cancel shows at once.",
        }
    )
    def get_deliveries(self, obj: Broadcast) -> dict[str, int]:
        return broadcast_progress(broadcast_id=obj.pk)


@extend_schema(tags=["audiences"])
class BroadcastViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BroadcastOutput
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "send"}
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self) -> QuerySet[Broadcast]:
        if getattr(self, "swagger_fake_view", False):
            return Broadcast.objects.none()
        # The recipient list (up to 100,000 entries) is never part of an answer.
        return (
            Broadcast.objects.filter(tenant=caller_key(self.request).tenant)
            .defer("recipients")
            .select_related("topic")
        )

    @extend_schema(
        request=BroadcastInput,
        responses={202: BroadcastOutput},
        parameters=[idempotency_key_parameter(f"{REPLAY_HELP} {_OWN_KEYS}")],
    )
    def create(self, request: Request) -> Response:
        from django.conf import settings

        data = BroadcastInput(
            data=request.data, context={"max_recipients": settings.NOTIFY_BROADCAST_MAX_RECIPIENTS}
        )
        data.is_valid(raise_exception=True)
        key = idempotency_key_header(request)
        message = {k: v for k, v in data.validated_data.items() if k not in ("recipients", "topic")}
        topic = None
        if data.validated_data.get("topic"):
            topic = Topic.objects.filter(
                tenant=caller_key(request).tenant, key=data.validated_data["topic"]
            ).first()
            if topic is None:
                raise serializers.ValidationError({"topic": ["No such topic."]})
        people = data.validated_data.get("recipients")
        sample = people[0] if people else broadcast_sample(topic=topic) if topic else None
        try:  # content over one message's render budget is refused before anything is stored
            broadcast_check(api_key=caller_key(request), message=message, sample=sample)
            answer = broadcast_submit(
                api_key=caller_key(request),
                message=message,
                recipients=people,
                topic=topic,
                idempotency_key=key,
                fingerprint=request_fingerprint(request.data),
            )
        except (InvalidRequest, IdempotencyInFlight, IdempotencyMismatch) as exc:
            raise refusal_error(exc) from exc
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
        body = BroadcastOutput(answer.broadcast).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(request=None, responses={200: BroadcastOutput})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        broadcast = self.get_object()
        broadcast_cancel(broadcast=broadcast)
        broadcast.refresh_from_db()
        return Response(BroadcastOutput(broadcast).data)
