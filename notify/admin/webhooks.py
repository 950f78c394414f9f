"""Outbound webhooks in the admin: the endpoints callers registered (read-only; an operator
can disable one) and the log of events sent to them. Secrets are never shown."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notify.admin.base import ReadOnlyAdmin
from notify.admin.display import admin_link
from notify.models.webhooks import WebhookDelivery, WebhookEndpoint
from notify.services.webhooks.delivery import webhook_endpoint_disable


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "api_key", "events_list", "active", "disabled_reason", "created_at"]
    list_filter = ["active"]
    list_select_related = ["api_key"]
    search_fields = ["url", "=api_key__prefix", "api_key__name"]
    fields = ["id", "url", "api_key", "events_list", "active", "disabled_reason", "created_at"]
    actions = ["disable"]

    def has_disable_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notify.change_webhookendpoint")

    @admin.action(description="Disable selected endpoints", permissions=["disable"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        live = list(queryset.filter(active=True).values_list("pk", flat=True))
        for pk in live:
            webhook_endpoint_disable(
                endpoint_id=pk, reason=f"disabled by {request.user.get_username()}"
            )
        noun = "endpoint" if len(live) == 1 else "endpoints"
        level = messages.SUCCESS if live else messages.WARNING
        self.message_user(request, f"Disabled {len(live)} {noun}.", level)

    @admin.display(description="events")
    def events_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events) or "all"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event_type",
        "endpoint_link",
        "status",
        "attempts",
        "response_status",
        "created_at",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["=event_id", "endpoint__url"]
    search_help_text = "Event id (Notify-Webhook-Id) or endpoint URL"
    show_full_result_count = False
    fields = [
        "event_id",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "response_status",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "body",
    ]

    @admin.display(description="endpoint", ordering="endpoint_id")
    def endpoint_link(self, obj: WebhookDelivery) -> SafeString:
        return admin_link("webhookendpoint", obj.endpoint_id, str(obj.endpoint_id))

    @admin.display(description="body")
    def body(self, obj: WebhookDelivery) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).order_by("-created_at")
