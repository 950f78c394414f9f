"""Recipients and their push devices. Read-only: contact points arrive with each send
(recipient_upsert) or in bulk from a file ("Import recipients", the API's import service),
and tokens are deactivated by FCM feedback, not edited by hand."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from channels.email import EmailChannel
from channels.push import PushChannel
from channels.sms import SmsChannel
from notify.admin.base import ReadOnlyAdmin, ReadOnlyInline
from notify.admin.display import mask_address
from notify.models.recipients import Device, Recipient
from notify.services.recipients.imports import (
    ImportFileError,
    recipient_rows_from_upload,
    recipients_import,
)


class RecipientImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row (at least an id column), or .json")
    tenant = forms.CharField(max_length=64, initial="default")
    dry_run = forms.BooleanField(
        required=False, label="Dry run", help_text="Validate and report; store nothing."
    )


class DeviceInline(ReadOnlyInline):
    model = Device
    fields = ("token", "platform", "active", "deactivated_reason", "updated_at")
    ordering = ["-active", "-updated_at"]
    show_change_link = True


@admin.register(Recipient)
class RecipientAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "tenant", "masked_email", "masked_phone", "locale", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["external_id", "email", "phone"]
    ordering = ["-created_at"]
    show_full_result_count = False
    inlines = [DeviceInline]
    fields = (
        "id",
        "tenant",
        "external_id",
        "email",
        "phone",
        "locale",
        "timezone",
        "created_at",
        "updated_at",
    )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.import_view)
        # Before the inherited patterns: their "<path:object_id>/" catch-all would take it.
        return [path("import/", view, name="notify_recipient_import"), *super().get_urls()]

    def has_import_permission(self, request: HttpRequest) -> bool:
        # The page itself is read-only for everyone; an import creates and changes rows.
        return request.user.has_perms(["notify.add_recipient", "notify.change_recipient"])

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = RecipientImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = recipient_rows_from_upload(data=upload.read(), filename=upload.name)
                report = recipients_import(
                    tenant=form.cleaned_data["tenant"],
                    rows=rows,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import recipients",
            "form": form,
            "report": report,
            "max_rows": settings.NOTIFY_IMPORT_MAX_ROWS,
        }
        return TemplateResponse(request, "admin/notify/recipient/import.html", context)

    @admin.display(description="email", ordering="email")
    def masked_email(self, obj: Recipient) -> str:
        return mask_address(obj.email, EmailChannel.name)

    @admin.display(description="phone", ordering="phone")
    def masked_phone(self, obj: Recipient) -> str:
        return mask_address(obj.phone, SmsChannel.name)


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = [
        "masked_token",
        "recipient_external_id",
        "platform",
        "active",
        "deactivated_reason",
        "updated_at",
    ]
    list_select_related = ["recipient"]
    list_filter = ["active", "platform"]
    search_fields = ["=token", "recipient__external_id"]
    ordering = ["-updated_at"]
    show_full_result_count = False
    fields = (
        "id",
        "recipient",
        "platform",
        "token",
        "active",
        "deactivated_reason",
        "created_at",
        "updated_at",
    )

    @admin.display(description="token")
    def masked_token(self, obj: Device) -> str:
        return mask_address(obj.token, PushChannel.name)

    @admin.display(description="recipient", ordering="recipient__external_id")
    def recipient_external_id(self, obj: Device) -> str:
        return obj.recipient.external_id
