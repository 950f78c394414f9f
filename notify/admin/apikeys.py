"""API keys. Created through api_key_create, whose raw key is shown once in a message and
never stored; the hash is never displayed. Keys are revoked, not deleted, so that
notifications keep pointing at the key that sent them; the only thing edited in place is the
key's rate limit, an operational setting rather than part of the credential."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from notify.admin.base import adopt_saved
from notify.models.apikeys import ApiKey
from notify.services.access.apikeys import (
    ALL_SCOPES,
    api_key_create,
    api_key_revoke,
    api_key_set_rate,
)
from notify.services.access.ratelimits import RATE_HELP, rate_parse

_SHOWN = (
    "name",
    "tenant",
    "key_prefix",
    "scopes_list",
    "rate",
    "active",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


def _clean_rate(value: str) -> str:
    if value.strip():
        try:
            return str(rate_parse(value=value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
    return ""


_RATE_FIELD_HELP = f"Notifications per period. {RATE_HELP} Empty: the NOTIFY_API_RATE default."


class ApiKeyRateForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["rate_limit"]
        help_texts = {"rate_limit": _RATE_FIELD_HELP}

    def clean_rate_limit(self) -> str:
        return _clean_rate(self.cleaned_data.get("rate_limit") or "")


class ApiKeyCreateForm(forms.ModelForm):
    # Required: api_key_create reads "no scopes" as "all scopes".
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, initial=list(ALL_SCOPES), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "tenant", "scopes", "expires_at", "rate_limit"]
        help_texts = {"rate_limit": _RATE_FIELD_HELP}

    def clean_rate_limit(self) -> str:
        return _clean_rate(self.cleaned_data.get("rate_limit") or "")

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Must be in the future (or empty: never expires).")
        return expires_at


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("revoked", "revoked"), ("expired", "expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = _SHOWN
    list_filter = [ApiKeyStatusFilter, "tenant"]
    search_fields = ["name", "=prefix"]
    ordering = ["-created_at"]
    actions = ["revoke_keys"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = ApiKeyCreateForm if obj is None else ApiKeyRateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "tenant", "scopes", "expires_at", "rate_limit"]
        return [*_SHOWN[:4], "rate_limit", *_SHOWN[5:]]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A new scope or expiry is a new key; only the rate limit changes in place.
        return [] if obj is None else [f for f in _SHOWN if f != "rate"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notify.change_apikey")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            api_key_set_rate(key=obj, rate_limit=data["rate_limit"])
            return
        key, raw = api_key_create(
            name=data["name"],
            tenant=data["tenant"],
            scopes=data["scopes"],
            expires_at=data["expires_at"],
            rate_limit=data["rate_limit"],
        )
        adopt_saved(obj, key)
        self.message_user(
            request,
            format_html(
                "API key “{}” created. Copy it now: <strong>it will not be shown again</strong>, "
                'only its hash is stored.<br><code class="raw-api-key">{}</code>',
                key.name,
                raw,
            ),
            messages.SUCCESS,
        )

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        live = [key for key in queryset if key.revoked_at is None]
        for key in live:
            api_key_revoke(key=key)
        noun = "key" if len(live) == 1 else "keys"
        self.message_user(
            request, f"Revoked {len(live)} {noun}.", messages.SUCCESS if live else messages.WARNING
        )

    @admin.display(description="key", ordering="prefix")
    def key_prefix(self, obj: ApiKey) -> str:
        return f"ntf_{obj.prefix}_…"

    @admin.display(description="scopes")
    def scopes_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="rate limit")
    def rate(self, obj: ApiKey) -> str:
        return obj.rate_limit or "default"

    @admin.display(description="active", boolean=True)
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active
