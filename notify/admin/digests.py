"""Digests: the open ones (recipient, key, how many messages, when they flush), with "flush
now" and "cancel" for operators; and recipients' per-category digest choices. Changes go
through the digest services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notify.admin.base import adopt_saved
from notify.models.digests import Digest, DigestChoice
from notify.services.digests.gathering import digests_cancel, digests_flush_now
from notify.services.digests.rules import BadRule, rule_check
from notify.services.recipients.preferences import digest_choice_set


class _OpenFirst(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("all", "All"), *((s, s) for s in Digest.Status.values if s != "open")]

    def choices(self, changelist: Any) -> Any:
        # "Open" is the default view: what is waiting is what an operator acts on.
        value = self.value()
        yield {
            "selected": value is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Open",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset.filter(status=Digest.Status.OPEN)
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["key", "recipient_external_id", "tenant", "count", "flush_at", "status"]
    list_select_related = ["recipient"]
    list_filter = [_OpenFirst]
    search_fields = ["=recipient__external_id", "=key"]
    search_help_text = "Exact recipient external id or digest key."
    ordering = ["flush_at"]
    show_full_result_count = False
    actions = ["flush_now", "cancel_open"]
    readonly_fields = fields = (
        "tenant",
        "recipient",
        "key",
        "rule",
        "template_key",
        "category",
        "status",
        "flush_at",
        "max_items",
        "count",
        "notification",
        "item_ids",
        "last_error",
        "created_at",
        "closed_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notify.change_delivery")

    @admin.display(description="recipient", ordering="recipient__external_id")
    def recipient_external_id(self, obj: Digest) -> str:
        return obj.recipient.external_id

    @admin.action(description="Flush now", permissions=["operate"])
    def flush_now(self, request: HttpRequest, queryset: QuerySet[Digest]) -> None:
        count = digests_flush_now(digest_ids=list(queryset.values_list("id", flat=True)))
        self._report(request, count, "due now; a worker sends them shortly")

    @admin.action(description="Cancel (send nothing)", permissions=["operate"])
    def cancel_open(self, request: HttpRequest, queryset: QuerySet[Digest]) -> None:
        count = digests_cancel(
            digest_ids=list(queryset.values_list("id", flat=True)),
            reason=f"digest cancelled by {request.user.get_username()}",
        )
        self._report(request, count, "cancelled with their messages")

    def _report(self, request: HttpRequest, count: int, done: str) -> None:
        if count == 0:
            self.message_user(
                request, "No open digest in the selection; nothing changed.", messages.WARNING
            )
            return
        noun = "digest" if count == 1 else "digests"
        self.message_user(request, f"{count} {noun} {done}.", messages.SUCCESS)


class DigestChoiceForm(forms.ModelForm):
    rule = forms.CharField(
        max_length=32, help_text='"daily@18:00", "weekly@mon@09:00" or a window such as "1h".'
    )

    class Meta:
        model = DigestChoice
        fields = ["recipient", "category", "rule"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        try:
            rule_check(cleaned.get("rule") or "")
        except BadRule as exc:
            self.add_error("rule", str(exc))
        recipient, category = cleaned.get("recipient"), cleaned.get("category")
        if recipient and category and recipient.tenant != category.tenant:
            self.add_error("category", f"Not a category of tenant {recipient.tenant!r}.")
        return cleaned


@admin.register(DigestChoice)
class DigestChoiceAdmin(admin.ModelAdmin):
    form = DigestChoiceForm
    list_display = ["recipient", "category", "rule", "updated_at"]
    list_select_related = ["recipient", "category"]
    search_fields = ["=recipient__external_id"]
    raw_id_fields = ["recipient"]
    ordering = ["-pk"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else ["recipient", "category"]

    def save_model(self, request: HttpRequest, obj: DigestChoice, form: Any, change: bool) -> None:
        digest_choice_set(recipient=obj.recipient, category=obj.category, rule=obj.rule)
        adopt_saved(obj, DigestChoice.objects.get(recipient=obj.recipient, category=obj.category))
