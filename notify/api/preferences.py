"""A recipient's preferences, and the categories they refer to."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels import names as channel_names
from notify.api.auth import HasScope, caller_key
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.digests.rules import BadRule, rule_check
from notify.services.recipients.categories import GENERAL, category_save
from notify.services.recipients.preferences import (
    UnknownCategory,
    preferences_read,
    preferences_set,
)
from notify.validation.categories import CategorySerializer

_CHANNEL_FLAGS = serializers.DictField(child=serializers.BooleanField())


class PreferencesSerializer(serializers.Serializer):
    categories = serializers.DictField(
        child=serializers.DictField(),
        help_text='{"marketing": {"email": false, "sms": true, "digest": "daily@18:00"}}: '
        "channels on or off, and optionally a digest (a schedule or a window; null: one by "
        "one) instead of each message as it comes; unknown categories are 400",
    )

    def validate_categories(self, value: dict[str, dict[str, Any]]) -> dict[str, Any]:
        flag = serializers.BooleanField()
        out: dict[str, dict[str, Any]] = {}
        for key, choices in value.items():
            unknown = set(choices) - {*channel_names(), "digest"}
            if unknown:
                raise serializers.ValidationError(
                    f"{key}: unknown channel(s) {', '.join(sorted(unknown))}"
                )
            out[key] = {c: flag.run_validation(v) for c, v in choices.items() if c != "digest"}
            if "digest" in choices:
                rule = choices["digest"] or ""
                try:
                    if rule:
                        rule_check(str(rule))
                except BadRule as exc:
                    raise serializers.ValidationError(f"{key}: digest: {exc}") from exc
                out[key]["digest"] = rule
        return out


@extend_schema(tags=["recipients"])
class PreferencesApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "PUT": "send"}

    def _recipient(self, request: Request, recipient_id: str) -> Recipient:
        return get_object_or_404(
            Recipient.objects.prefetch_related("preferences"),
            tenant=caller_key(request).tenant,
            external_id=recipient_id,
        )

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request: Request, recipient_id: str) -> Response:
        recipient = self._recipient(request, recipient_id)
        return Response({"categories": preferences_read(recipient=recipient)})

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request: Request, recipient_id: str) -> Response:
        data = PreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recipient = self._recipient(request, recipient_id)
        try:
            preferences_set(recipient=recipient, choices=data.validated_data["categories"])
        except UnknownCategory as exc:
            raise serializers.ValidationError({"categories": [f"No category '{exc}'."]}) from exc
        recipient = self._recipient(request, recipient_id)
        return Response({"categories": preferences_read(recipient=recipient)})


@extend_schema(tags=["categories"])
class CategoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CategorySerializer
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "manage", "PUT": "manage", "DELETE": "manage"}
    lookup_field = "key"

    def get_queryset(self) -> QuerySet[Category]:
        if getattr(self, "swagger_fake_view", False):
            return Category.objects.none()
        return Category.objects.filter(tenant=caller_key(self.request).tenant).order_by("key")

    def perform_destroy(self, instance: Category) -> None:
        # Built in: deleting it would drop every recipient's opt-outs for uncategorised
        # messages, and the next send would recreate it with none.
        if instance.key == GENERAL:
            raise serializers.ValidationError({"key": [f"{GENERAL} is built in."]})
        instance.delete()

    def create(self, request: Request) -> Response:
        data = CategorySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = category_save(tenant=caller_key(request).tenant, **data.validated_data)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, key: str) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        data = CategorySerializer(data={**body, "key": key})
        data.is_valid(raise_exception=True)
        category = category_save(tenant=caller_key(request).tenant, **data.validated_data)
        return Response(CategorySerializer(category).data)
