"""Recipients and their push devices. Read-only: contact points arrive with each send
(recipient_upsert) and tokens are deactivated by FCM feedback, not edited by hand."""

from __future__ import annotations

from django.contrib import admin

from notify.admin.base import ReadOnlyAdmin, ReadOnlyInline
from notify.admin.display import mask_address
from notify.models.recipients import Device, Recipient


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

    @admin.display(description="email", ordering="email")
    def masked_email(self, obj: Recipient) -> str:
        return mask_address(obj.email, "email")

    @admin.display(description="phone", ordering="phone")
    def masked_phone(self, obj: Recipient) -> str:
        return mask_address(obj.phone, "sms")


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
        return mask_address(obj.token, "push")

    @admin.display(description="recipient", ordering="recipient__external_id")
    def recipient_external_id(self, obj: Device) -> str:
        return obj.recipient.external_id
