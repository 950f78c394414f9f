from __future__ import annotations

from django.db import models
from django.utils import timezone

from notify.ids import uuid7


class ApiKey(models.Model):
    """A caller's credential. Only a SHA-256 of the secret is stored; the raw key
    `ntf_<prefix>_<secret>` is shown once, at creation."""

    class Scope(models.TextChoices):
        SEND = "send"
        READ = "read"
        MANAGE = "manage"
        # Operations for every tenant (provider-wide and channel-wide pauses). Never given
        # by default: only named explicitly when a key is created.
        PLATFORM = "platform"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=100)
    # Everything a key creates or reads is scoped to its tenant.
    tenant = models.CharField(max_length=64, default="default", db_index=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    # Notifications per period, e.g. "500/s" (notify.services.access.ratelimits); empty: the
    # NOTIFY_API_RATE default.
    rate_limit = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (ntf_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
