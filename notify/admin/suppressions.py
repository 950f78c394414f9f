"""Suppressed addresses: why an address gets no more messages, and lifting that."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notify.admin.display import mask_address
from notify.models.suppressions import Suppression
from notify.services.recipients.suppressions import suppression_remove


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["masked_address", "channel", "reason", "tenant", "created_at"]
    list_filter = ["channel", "reason", "tenant"]
    search_fields = ["=address"]
    search_help_text = "Exact address (email, E.164 phone)."
    readonly_fields = ["tenant", "channel", "address", "reason", "detail", "created_at"]
    actions = ["lift"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="address", ordering="address")
    def masked_address(self, obj: Suppression) -> str:
        return mask_address(obj.address, obj.channel)

    @admin.action(description="Lift the selected suppressions", permissions=["delete"])
    def lift(self, request: HttpRequest, queryset: QuerySet[Suppression]) -> None:
        lifted = sum(
            suppression_remove(tenant=s.tenant, channel=s.channel, address=s.address)
            for s in queryset
        )
        self.message_user(request, f"Lifted {lifted} suppression(s).", messages.SUCCESS)
