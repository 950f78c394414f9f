"""List filters for large tables. On the notifications list, a delivery filter keeps a
notification with at least one matching delivery: EXISTS rather than a join, so no row shows
up twice and no DISTINCT runs over the notifications."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import HttpRequest

from channels import names as channel_names
from notify.models.notifications import Delivery, DeliveryAttempt, DeliveryStatus, Notification
from notify.services.operations.replay import deliveries_filter

# Choices are read from this many newest rows. A DISTINCT over a table of millions is a full
# scan on every page view; a value older than that still filters when put in the URL.
RECENT_ROWS = 10_000


class _FieldFilter(admin.SimpleListFilter):
    """Filters `field` of the listed model; subclasses say where the choices come from."""

    field = ""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class _RecentValues(_FieldFilter):
    source: type[Model] = Delivery

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(v, v) for v in recent_values(self.source, self.field)]


class _NotificationHasDelivery(admin.SimpleListFilter):
    field = ""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        matching = Delivery.objects.filter(notification=OuterRef("pk"), **{self.field: value})
        return queryset.filter(Exists(matching))


class NotificationDeliveryStatusFilter(_NotificationHasDelivery):
    title = "delivery status"
    parameter_name = "delivery_status"
    field = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in DeliveryStatus.choices]


class NotificationChannelFilter(_NotificationHasDelivery):
    title = "channel"
    parameter_name = "channel"
    field = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(c, c) for c in channel_names()]


class NotificationProviderFilter(_NotificationHasDelivery):
    title = "provider"
    parameter_name = "provider"
    field = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(v, v) for v in recent_values(Delivery, "provider")]


class NotificationCategoryFilter(_RecentValues):
    title = "category"
    parameter_name = field = "category"
    source = Notification


class DeliveryChannelFilter(_FieldFilter):
    title = "channel"
    parameter_name = field = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(c, c) for c in channel_names()]


class DeliveryProviderFilter(_RecentValues):
    title = "provider"
    parameter_name = field = "provider"


class DeliveryErrorCodeFilter(_RecentValues):
    title = "error code"
    parameter_name = field = "error_code"


class DeliveryErrorClassFilter(admin.SimpleListFilter):
    """The error class (outcome) of a delivery's last attempt: transient errors that ran out
    of attempts, permanent refusals, our own configuration, ambiguous sends."""

    title = "error class"
    parameter_name = "error_class"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(v), str(label)) for v, label in DeliveryAttempt.Outcome.choices if v != "sent"]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return deliveries_filter(queryset, outcome=value) if value else queryset


def recent_values(model: type[Model], field: str) -> list[str]:
    """The distinct non-empty values of `field` among the newest rows (ids are UUIDv7, so the
    primary key index gives the newest first)."""
    newest = model._default_manager.order_by("-pk").values_list(field, flat=True)[:RECENT_ROWS]
    return sorted({value for value in newest if value})
