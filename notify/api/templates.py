"""/api/v1/templates/: message templates by key (and optional ?locale=), and the history of
each one's versions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notify.api.auth import HasScope, caller_key
from notify.api.pagination import CheckedCursorPagination
from notify.models.templates import Template, TemplateVersion
from notify.services.content.templates import (
    TemplateInvalid,
    template_delete,
    template_save,
    template_versions,
)
from notify.validation.content import ContentSerializer
from notify.validation.fields import LocaleField, TextField

_LOCALE = OpenApiParameter(
    "locale", description="Locale variant, e.g. fr or fr-CA; omit for the default"
)


def _body(request: Request) -> dict[str, Any]:
    # A JSON array body is not a template; the serializer reports the missing fields.
    return request.data if isinstance(request.data, dict) else {}


class TemplateSerializer(serializers.ModelSerializer):
    key = serializers.SlugField(max_length=100)
    locale = LocaleField(required=False, allow_blank=True, default="")
    description = TextField(single_line=True, max_length=255, required=False, default="")
    content = ContentSerializer(
        help_text="Per-channel parts in Django template syntax; HTML is autoescaped."
    )

    class Meta:
        model = Template
        fields = ["key", "locale", "description", "content", "version", "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]
        validators: list[Any] = []


class TemplateVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateVersion
        fields = ["version", "description", "content", "created_by", "created_at"]
        read_only_fields = fields


class NewestVersionFirst(CheckedCursorPagination):
    ordering = "-version"  # unique and unchanging within one template
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema(tags=["templates"])
@extend_schema_view(
    retrieve=extend_schema(parameters=[_LOCALE]),
    update=extend_schema(parameters=[_LOCALE]),
    destroy=extend_schema(parameters=[_LOCALE]),
    versions=extend_schema(parameters=[_LOCALE], responses=TemplateVersionSerializer(many=True)),
    version_detail=extend_schema(
        parameters=[_LOCALE, OpenApiParameter("number", int, OpenApiParameter.PATH)],
        responses=TemplateVersionSerializer,
    ),
)
class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TemplateSerializer
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "manage", "PUT": "manage", "DELETE": "manage"}
    lookup_field = "key"

    def get_queryset(self) -> QuerySet[Template]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Template.objects.none()
        return Template.objects.filter(tenant=caller_key(self.request).tenant).order_by(
            "key", "locale"
        )

    def get_object(self) -> Template:
        locale = self.request.query_params.get("locale", "")
        qs = self.get_queryset().filter(locale=locale)
        self.kwargs["key"] = self.kwargs[self.lookup_field]
        return get_object_or_404(qs, key=self.kwargs["key"])

    def _save(self, request: Request, data: dict[str, Any]) -> Template:
        serializer = TemplateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            return template_save(
                tenant=caller_key(request).tenant,
                created_by=caller_key(request).name,
                **serializer.validated_data,
            )
        except TemplateInvalid as exc:
            raise serializers.ValidationError(exc.fields) from exc

    def create(self, request: Request) -> Response:
        if Template.objects.filter(
            tenant=caller_key(request).tenant,
            key=_body(request).get("key"),
            locale=_body(request).get("locale", ""),
        ).exists():
            raise serializers.ValidationError(
                {"key": ["Exists; PUT /templates/{key}/ to change it."]}
            )
        template = self._save(request, _body(request))
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, key: str) -> Response:
        locale = request.query_params.get("locale", _body(request).get("locale", ""))
        template = self._save(request, {**_body(request), "key": key, "locale": locale})
        return Response(TemplateSerializer(template).data)

    def destroy(self, request: Request, key: str) -> Response:
        template_delete(template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"], pagination_class=NewestVersionFirst)
    def versions(self, request: Request, key: str) -> Response:
        page = self.paginate_queryset(template_versions(template=self.get_object()))
        return self.get_paginated_response(TemplateVersionSerializer(page, many=True).data)

    # At most 9 digits: a larger number would overflow the integer column (a 500, not a 404).
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,9})")
    def version_detail(self, request: Request, key: str, number: str) -> Response:
        version = get_object_or_404(
            template_versions(template=self.get_object()), version=int(number)
        )
        return Response(TemplateVersionSerializer(version).data)
