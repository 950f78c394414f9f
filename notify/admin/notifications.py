"""Notifications: what was asked, to whom, and how each delivery went. Read-only; an operator
changes delivery state only through the retry and cancel actions."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from notify.admin.base import DeliveryOperationsAdmin, ReadOnlyAdmin, ReadOnlyStackedInline
from notify.admin.display import attempt_timeline, channels_summary, pretty_json, short_id
from notify.admin.filters import (
    NotificationCategoryFilter,
    NotificationChannelFilter,
    NotificationDeliveryStatusFilter,
    NotificationProviderFilter,
)
from notify.models.notifications import Delivery, Notification
from notify.services.accepting.notifications import notification_status


class DeliveryInline(ReadOnlyStackedInline):
    model = Delivery
    # Stacked, a block per delivery: as table columns, the timeline and the provider's error
    # texts made the page far wider than a laptop screen.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("channel", "to"),
                    ("status", "attempts", "updated_at"),
                    ("provider", "provider_message_id", "error_code"),
                    "last_error",
                    "timeline",
                ]
            },
        )
    ]
    ordering = ["channel", "created_at"]
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).prefetch_related("attempt_log")

    @admin.display(description="attempt timeline")
    def timeline(self, obj: Delivery) -> SafeString | str:
        return attempt_timeline(obj.attempt_log.all())


@admin.register(Notification)
class NotificationAdmin(DeliveryOperationsAdmin, ReadOnlyAdmin):
    list_display = [
        "notification_id",
        "recipient_external_id",
        "status",
        "channels",
        "priority",
        "category",
        "created_at",
    ]
    list_select_related = ["recipient"]
    # No date_hierarchy: it runs a DISTINCT over every created_at on each page view.
    list_filter = [
        NotificationDeliveryStatusFilter,
        NotificationChannelFilter,
        NotificationProviderFilter,
        "priority",
        NotificationCategoryFilter,
        "created_at",
    ]
    search_fields = ["recipient__external_id", "recipient__email", "recipient__phone"]
    search_help_text = (
        "Recipient external id, email or phone; a UUID finds the notification with that id."
    )
    ordering = ["-created_at"]
    # COUNT(*) over every notification on each page view is the slowest query of the list.
    show_full_result_count = False
    inlines = [DeliveryInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "status",
                    "recipient",
                    "tenant",
                    "category",
                    "priority",
                    "created_at",
                    "send_at",
                    "cancelled_at",
                ]
            },
        ),
        ("Origin", {"fields": ["api_key", "template_key", "template_version", "idempotency_key"]}),
        ("Rendered content", {"fields": ["rendered_content"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        # Status and channels are derived from the deliveries: one query for the whole page.
        only_state = Delivery.objects.only("id", "notification", "channel", "status")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("deliveries", queryset=only_state))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        try:
            wanted = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        # Callers often use UUIDs as their own ids too.
        return queryset.filter(Q(pk=wanted) | Q(recipient__external_id=term)), False

    def selected_delivery_ids(self, queryset: QuerySet[Any], status: str) -> list[Any]:
        return list(
            Delivery.objects.filter(
                notification__in=queryset.values("pk"), status=status
            ).values_list("id", flat=True)
        )

    @admin.display(description="id", ordering="id")
    def notification_id(self, obj: Notification) -> SafeString:
        return short_id(obj.pk)

    @admin.display(description="recipient", ordering="recipient__external_id")
    def recipient_external_id(self, obj: Notification) -> str:
        return obj.recipient.external_id

    @admin.display(description="status")
    def status(self, obj: Notification) -> str:
        return notification_status(list(obj.deliveries.all()))

    @admin.display(description="channels")
    def channels(self, obj: Notification) -> str:
        return channels_summary(obj.deliveries.all())

    @admin.display(description="content")
    def rendered_content(self, obj: Notification) -> SafeString:
        return pretty_json(obj.content)
