"""Base classes for the admin pages. The operator actions are shared by the notifications and
deliveries lists; the state change itself is the service's: only `failed` rows are retried and
only `pending` ones are cancelled, whatever was selected."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from notify.models.notifications import DeliveryStatus
from notify.models.operations import Replay
from notify.services.operations.deliveries import deliveries_cancel
from notify.services.operations.replay import deliveries_replay


class DeliveryOperationsAdmin(admin.ModelAdmin):
    """Base for a read-only list whose rows stand for deliveries. Subclasses map the
    selection to delivery ids."""

    actions = ["retry_failed", "cancel_pending"]

    def selected_delivery_ids(self, queryset: QuerySet[Any], status: str) -> list[Any]:
        raise NotImplementedError

    def has_operate_permission(self, request: HttpRequest) -> bool:
        # The pages are read-only for everyone, so the actions hang off Django's ordinary
        # "change delivery" permission instead.
        return request.user.has_perm("notify.change_delivery")

    @admin.action(description="Retry failed deliveries", permissions=["operate"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # Narrowing by status here only keeps the id list short; the service re-checks.
        ids = self.selected_delivery_ids(queryset, DeliveryStatus.FAILED)
        replay = deliveries_replay(
            delivery_ids=ids, requested_by=request.user.get_username(), source=Replay.Source.ADMIN
        )
        _report(self, request, replay.count, "put back in line for sending", "failed")

    @admin.action(description="Cancel pending deliveries", permissions=["operate"])
    def cancel_pending(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        ids = self.selected_delivery_ids(queryset, DeliveryStatus.PENDING)
        count = deliveries_cancel(delivery_ids=ids)
        _report(self, request, count, "cancelled", "pending")


def _report(
    model_admin: admin.ModelAdmin, request: HttpRequest, count: int, done: str, status: str
) -> None:
    if count == 0:
        model_admin.message_user(
            request, f"No {status} deliveries in the selection; nothing changed.", messages.WARNING
        )
        return
    noun = "delivery" if count == 1 else "deliveries"
    model_admin.message_user(request, f"{count} {noun} {done}.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the delivery pipeline only: viewing, no add/change/delete."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Everything shown is read-only: the fieldsets (or fields) are the one list of it.
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ReadOnlyInlineRules(admin.options.InlineModelAdmin):
    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(_ReadOnlyInlineRules, admin.TabularInline):
    """A short row per related object."""


class ReadOnlyStackedInline(_ReadOnlyInlineRules, admin.StackedInline):
    """A block per related object, for rows with too much to show side by side."""


def adopt_saved(target: Model, saved: Model) -> None:
    """Make the admin's unsaved instance the row a service wrote. The admin goes on using its
    own instance (change log, redirect), so it must carry the service's primary key."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db
