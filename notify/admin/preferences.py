"""Categories and recipients' preferences. A category's channel lists are checked with the
API's own field rules (CategorySerializer), so the admin accepts no channel the API would
refuse; saving goes through category_save and preferences_set. Nothing is deleted here: no
service does it, and deleting a category would silently drop every preference under it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from rest_framework import serializers

from channels import names as channel_names
from notify.admin.base import adopt_saved
from notify.admin.display import EMPTY
from notify.admin.filters import DeliveryChannelFilter
from notify.models.preferences import Category, Preference
from notify.services.recipients.categories import category_save
from notify.services.recipients.preferences import preferences_set
from notify.validation.categories import CategorySerializer

_LISTS = ("default_channels", "fallback_order")


class ChannelListField(forms.Field):
    """Channels typed as `push, sms, email`, kept in the order given (it is the fallback
    order)."""

    widget = forms.TextInput

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        return [part for part in re.split(r"[\s,]+", value or "") if part]


class CategoryForm(forms.ModelForm):
    default_channels = ChannelListField(
        required=False, help_text="For example `email, push`. Empty: every channel."
    )
    fallback_order = ChannelListField(
        required=False,
        help_text="For fallback sends, the channel tried first, then the next: `push, sms, email`.",
    )

    class Meta:
        model = Category
        fields = ["tenant", "key", "name", "critical", *_LISTS]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for name in _LISTS:
            if name in cleaned:
                for problem in channel_list_problems(name, cleaned[name]):
                    self.add_error(name, problem)
        return cleaned


def channel_list_problems(name: str, channels: list[str]) -> list[str]:
    """Why the category field `name` cannot hold `channels`: the API's field rules, then
    repeats (the API refuses them as a whole; here each repeated channel is named)."""
    try:
        CategorySerializer().fields[name].run_validation(channels)
    except serializers.ValidationError as exc:
        known = ", ".join(channel_names())
        return [f"{message} Known channels: {known}." for message in _messages(exc.detail)]
    repeated = sorted({c for c in channels if channels.count(c) > 1})
    return [f"{c!r} is listed more than once." for c in repeated]


def _messages(detail: Any) -> Iterator[str]:
    # A list field reports per item: {1: ['"fax" is not a valid choice.']}.
    if isinstance(detail, dict):
        detail = list(detail.values())
    if isinstance(detail, list):
        for item in detail:
            yield from _messages(item)
    else:
        yield str(detail)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ["key", "name", "tenant", "critical", "channels", "fallback"]
    list_filter = ["critical", "tenant"]
    search_fields = ["key", "name"]
    ordering = ["tenant", "key"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["tenant", "key", "name", "critical", *_LISTS]
        return fields if obj is None else [*fields, "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # category_save addresses a category by tenant and key: a new key is a new category.
        return [] if obj is None else ["tenant", "key", "created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        saved = category_save(
            tenant=obj.tenant,
            key=obj.key,
            name=obj.name,
            critical=obj.critical,
            default_channels=obj.default_channels,
            fallback_order=obj.fallback_order,
        )
        adopt_saved(obj, saved)

    @admin.display(description="default channels")
    def channels(self, obj: Category) -> str:
        return ", ".join(obj.default_channels) or "all"

    @admin.display(description="fallback order")
    def fallback(self, obj: Category) -> str:
        return " → ".join(obj.fallback_order) or EMPTY


class _CategoryChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.key} ({obj.tenant})"


class PreferenceForm(forms.ModelForm):
    category = _CategoryChoice(queryset=Category.objects.order_by("tenant", "key"))
    channel = forms.ChoiceField(choices=lambda: [(c, c) for c in channel_names()])

    class Meta:
        model = Preference
        fields = ["recipient", "category", "channel", "enabled"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        recipient, category = cleaned.get("recipient"), cleaned.get("category")
        # preferences_set looks the category up by key within the recipient's tenant.
        if recipient and category and recipient.tenant != category.tenant:
            self.add_error("category", f"Not a category of tenant {recipient.tenant!r}.")
        return cleaned


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    form = PreferenceForm
    list_display = ["recipient_external_id", "category", "channel", "enabled", "updated_at"]
    list_select_related = ["recipient", "category"]
    list_filter = ["category", DeliveryChannelFilter, "enabled"]
    search_fields = ["=recipient__external_id"]
    search_help_text = "Exact recipient external id."
    raw_id_fields = ["recipient"]
    # Newest first by primary key: updated_at has no index and the table grows with
    # recipients, categories and channels multiplied.
    ordering = ["-pk"]
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["recipient", "category", "channel", "enabled"]
        return fields if obj is None else [*fields, "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # An edit flips the opt-in; another recipient, category or channel is another row.
        return [] if obj is None else ["recipient", "category", "channel", "updated_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Preference, form: Any, change: bool) -> None:
        preferences_set(
            recipient=obj.recipient, choices={obj.category.key: {obj.channel: obj.enabled}}
        )
        saved = Preference.objects.get(
            recipient=obj.recipient, category=obj.category, channel=obj.channel
        )
        adopt_saved(obj, saved)

    @admin.display(description="recipient", ordering="recipient__external_id")
    def recipient_external_id(self, obj: Preference) -> str:
        return obj.recipient.external_id
