"""Operator controls in the admin: pause a provider or a channel (adding a pause is pausing,
with a reason), resume it with an action, and the record of replays. Admin users operate the
platform: they pause for every tenant or, for a channel, for one tenant, and see every
tenant's pauses. Every write goes through
notify.services.operations.pauses / notify.services.operations.replay."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from channels import all_providers
from channels import names as channel_names
from notify.admin.base import ReadOnlyAdmin, adopt_saved
from notify.models.operations import Pause, Replay
from notify.services.operations.pauses import (
    EVERY_TENANT,
    PauseUnavailable,
    pause_lift,
    pause_set,
    pauses_in_force,
)


def _targets() -> list[tuple[str, str]]:
    return [(f"provider:{p}", f"provider {p}") for p in all_providers()] + [
        (f"channel:{c}", f"channel {c}") for c in channel_names()
    ]


_SHOWN = [
    "kind",
    "target",
    "tenant",
    "reason",
    "paused_by",
    "paused_at",
    "resumed_by",
    "resumed_at",
]


class PauseForm(forms.ModelForm):
    target = forms.ChoiceField(
        choices=_targets,
        help_text="Nothing is sent through it until resumed; deliveries wait, spending no "
        "attempt. Email with a paused provider fails over to the next one.",
    )

    tenant = forms.CharField(
        max_length=64,
        required=False,
        help_text="Empty: every tenant. A tenant's pause is of a channel: only that tenant's "
        "sends wait.",
    )

    class Meta:
        model = Pause
        fields = ["reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target, tenant = data.get("target", ""), (data.get("tenant") or "").strip()
        if tenant and target.startswith("provider:"):
            self.add_error(
                "tenant",
                "A provider carries every tenant's sends: pause it for every tenant, or pause "
                "a channel for this tenant.",
            )
        data["tenant"] = tenant
        return data


class OpenPauseFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "in force"), ("resumed", "resumed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("open", "resumed"):
            return queryset.filter(resumed_at__isnull=self.value() == "open")
        return queryset


@admin.register(Pause)
class PauseAdmin(admin.ModelAdmin):
    list_display = [
        "target_label",
        "whose",
        "in_force",
        "reason",
        "paused_by",
        "paused_at",
        "resumed_at",
    ]
    list_filter = [OpenPauseFilter, "kind", "tenant"]
    actions = ["resume"]
    ordering = ["-paused_at"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = PauseForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["target", "tenant", "reason"] if obj is None else _SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else _SHOWN

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit trail stays

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notify.add_pause")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # What is held back right now, above the history.
        held = pauses_in_force()
        if held:
            names = ", ".join(str(p) for p in held)
            self.message_user(request, f"Paused now: {names}.", messages.WARNING)
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: Pause, form: Any, change: bool) -> None:
        kind, target = form.cleaned_data["target"].split(":", 1)
        try:
            pause = pause_set(
                kind=kind,
                target=target,
                tenant=form.cleaned_data["tenant"] or EVERY_TENANT,
                reason=form.cleaned_data["reason"],
                paused_by=request.user.get_username(),
            )
        except PauseUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        adopt_saved(obj, pause)

    @admin.action(description="Resume (send again)", permissions=["resume"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Pause]) -> None:
        lifted = []
        for pause in queryset.filter(resumed_at__isnull=True):
            try:
                pause_lift(
                    kind=pause.kind,
                    target=pause.target,
                    tenant=pause.tenant,
                    resumed_by=request.user.get_username(),
                )
            except PauseUnavailable as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            lifted.append(str(pause))
        if not lifted:
            self.message_user(request, "Nothing in the selection is paused.", messages.WARNING)
            return
        self.message_user(request, f"Resumed: {', '.join(lifted)}.", messages.SUCCESS)

    @admin.display(description="paused", ordering="target")
    def target_label(self, obj: Pause) -> str:
        return f"{obj.kind} {obj.target}"

    @admin.display(description="for", ordering="tenant")
    def whose(self, obj: Pause) -> str:
        return obj.tenant or "every tenant"

    @admin.display(description="in force", boolean=True)
    def in_force(self, obj: Pause) -> bool:
        return obj.resumed_at is None


@admin.register(Replay)
class ReplayAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "requested_by", "source", "tenant", "count", "what"]
    list_filter = ["source"]
    search_fields = ["requested_by"]
    fields = ["id", "created_at", "requested_by", "source", "tenant", "count", "what"]

    @admin.display(description="replayed")
    def what(self, obj: Replay) -> SafeString | str:
        criteria = dict(obj.filter)
        if "ids" in criteria:
            ids = criteria["ids"]
            return f"{len(ids)} chosen deliveries"
        return format_html_join(", ", "{}={}", sorted(criteria.items())) or "—"
