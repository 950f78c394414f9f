"""API keys. Created through api_key_create, whose raw key is shown once in a message and
never stored; the hash is never displayed. Keys are revoked, not edited or deleted, so that
notifications keep pointing at the key that sent them."""

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
from notify.services.apikeys import ALL_SCOPES, api_key_create, api_key_revoke

_SHOWN = (
    "name",
    "tenant",
    "key_prefix",
    "scopes_list",
    "active",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


class ApiKeyCreateForm(forms.ModelForm):
    # Required: api_key_create reads "no scopes" as "all scopes".
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, initial=list(ALL_SCOPES), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "tenant", "scopes", "expires_at"]

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
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "tenant", "scopes", "expires_at"] if obj is None else _SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else _SHOWN

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing about a key is edited in place: a new scope or expiry is a new key.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notify.change_apikey")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        data = form.cleaned_data
        key, raw = api_key_create(
            name=data["name"],
            tenant=data["tenant"],
            scopes=data["scopes"],
            expires_at=data["expires_at"],
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

    @admin.display(description="active", boolean=True)
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active
