"""Message templates. Saving goes through template_save (syntax check, version bump) and the
change page previews every part with sample data from `?preview_data=<json>`. Below the
preview, the newest versions are listed with their source; restoring one saves its content
again as a new version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms.fields import InvalidJSONInput
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path

from channels import content_parts
from notify.admin.base import adopt_saved
from notify.admin.preview import template_preview
from notify.models.templates import Template
from notify.services.content.rendering import template_check_syntax
from notify.services.content.templates import (
    template_delete,
    template_save,
    template_version_restore,
    template_versions,
)
from notify.validation.content import ContentSerializer

_VERSIONS_SHOWN = 50


def _content_help() -> str:
    """E.g. {"email": {"subject", "text", "html"}, …}, from the channel registry."""
    shapes = ", ".join(
        f'"{channel}": {{' + ", ".join(f'"{p}"' for p in parts) + "}"
        for channel, parts in content_parts().items()
    )
    return f"Per channel, in Django template syntax: {{{shapes}}}."


class PrettyJSONField(forms.JSONField):
    """Indented, so that a template's parts can be read and edited in the textarea."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class TemplateForm(forms.ModelForm):
    # Same pattern as the API's LocaleField: fr, fr-CA, zh-Hant-TW.
    locale = forms.RegexField(
        regex=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=35,
        required=False,
        help_text="Empty for the default locale.",
    )
    content = PrettyJSONField(
        help_text=_content_help(),
        widget=forms.Textarea(attrs={"rows": 20, "cols": 100, "style": "font-family: monospace"}),
    )

    class Meta:
        model = Template
        fields = ["tenant", "key", "locale", "description", "content"]

    def clean_content(self) -> dict[str, Any]:
        content = self.cleaned_data["content"]
        problems = content_problems(content)
        if problems:
            raise forms.ValidationError(problems)
        return content


def content_problems(content: Any) -> list[str]:
    """Why `content` cannot be saved: its shape (the API's rules), then template syntax."""
    if not isinstance(content, dict) or not content:
        return ["Give an object with content for at least one channel."]
    known = content_parts()
    problems = [f"Unknown channel {c!r}." for c in content if c not in known]
    for channel, parts in content.items():
        if channel in known and isinstance(parts, dict):
            problems += [
                f"{channel}: unknown part {p!r}." for p in parts if p not in known[channel]
            ]
    if problems:
        return problems
    shape = ContentSerializer(data=content)
    if not shape.is_valid():
        return _flatten(shape.errors)
    return [
        f"{part}: {message}"
        for part, messages in template_check_syntax(content=content).items()
        for message in messages
    ]


def _flatten(errors: Any, path: str = "") -> list[str]:
    """DRF's nested errors as `email.subject: This field is required.` lines."""
    if isinstance(errors, dict):
        return [
            m
            for key, value in errors.items()
            for m in _flatten(value, path if key == "non_field_errors" else _join(path, key))
        ]
    if isinstance(errors, list):
        return [m for value in errors for m in _flatten(value, path)]
    return [f"{path}: {errors}" if path else str(errors)]


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


@dataclass(frozen=True)
class VersionRow:
    version: int
    created_at: datetime
    created_by: str
    description: str
    content_json: str
    current: bool


def _version_rows(template: Template) -> list[VersionRow]:
    return [
        VersionRow(
            version=v.version,
            created_at=v.created_at,
            created_by=v.created_by,
            description=v.description,
            content_json=json.dumps(v.content, indent=2, ensure_ascii=False),
            current=v.version == template.version,
        )
        for v in template_versions(template=template)[:_VERSIONS_SHOWN]
    ]


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ["key", "locale", "tenant", "version", "description", "updated_at"]
    list_filter = ["tenant", "locale"]
    search_fields = ["key", "description"]
    ordering = ["tenant", "key", "locale"]
    change_form_template = "admin/notify/template/change_form.html"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["tenant", "key", "locale", "description", "content"]})]
        return [
            (None, {"fields": ["tenant", "key", "locale", "version", "description", "content"]}),
            ("History", {"fields": ["created_at", "updated_at"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Key and locale are how callers address the template: changing them is a new
        # template, not an edit.
        if obj is None:
            return []
        return ["tenant", "key", "locale", "version", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Template, form: Any, change: bool) -> None:
        saved = template_save(
            tenant=obj.tenant,
            key=obj.key,
            locale=obj.locale,
            content=form.cleaned_data["content"],
            description=form.cleaned_data.get("description", ""),
            created_by=request.user.get_username(),
        )
        adopt_saved(obj, saved)

    def delete_model(self, request: HttpRequest, obj: Template) -> None:
        template_delete(template=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        for template in queryset:
            template_delete(template=template)

    def render_change_form(  # noqa: PLR0917 (Django's signature)
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Template | None = None,
    ) -> HttpResponse:
        if obj is not None and isinstance(obj.content, dict):
            context["preview"] = template_preview(
                content=obj.content, raw_data=request.GET.get("preview_data", "")
            )
        if obj is not None:
            context["versions"] = _version_rows(obj)
            context["versions_total"] = template_versions(template=obj).count()
            context["can_restore"] = self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        restore = path(
            "<path:object_id>/versions/<int:number>/restore/",
            self.admin_site.admin_view(self.restore_version),
            name="notify_template_restore",
        )
        # Before the inherited patterns: their "<path:object_id>/" catch-all would take it.
        return [restore, *super().get_urls()]

    def restore_version(self, request: HttpRequest, object_id: str, number: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        template = self.get_object(request, object_id)
        if template is None:
            raise Http404
        if not self.has_change_permission(request, template):
            raise PermissionDenied
        old = get_object_or_404(template_versions(template=template), version=number)
        saved = template_version_restore(version=old, created_by=request.user.get_username())
        if saved.version == template.version:
            self.message_user(
                request,
                f"Version {number} has the current content; nothing changed.",
                messages.INFO,
            )
        else:
            self.log_change(request, saved, f"Restored version {number} as {saved.version}.")
            self.message_user(
                request, f"Version {number} restored as version {saved.version}.", messages.SUCCESS
            )
        return redirect("admin:notify_template_change", template.pk)
