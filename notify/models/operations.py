"""Operator controls: replays of failed deliveries and pauses of providers or channels. Both
are audit rows; a pause's live state is in Redis
(notify.services.delivering.protection), so every worker sees it at once."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from notify.ids import uuid7


class Replay(models.Model):
    """One request to put failed deliveries back in line, and how many it moved. A replay of
    deliveries that are no longer failed moves nothing (count 0) and is still recorded."""

    class Source(models.TextChoices):
        ADMIN = "admin"
        API = "api"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    requested_by = models.CharField(max_length=150)
    source = models.CharField(max_length=8, choices=Source.choices)
    # Empty for the admin, which replays across tenants.
    tenant = models.CharField(max_length=64, blank=True, default="")
    # The filter as given, or {"ids": [...]} for a replay of chosen deliveries.
    filter = models.JSONField(default=dict, blank=True)
    count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"replay of {self.count} by {self.requested_by}"


class Pause(models.Model):
    """An operator's pause of a provider or a channel, until resumed. A pause with no tenant
    holds back every tenant (a platform operation); a tenant's pause, of a channel only, holds
    back that tenant's sends. At most one open pause per target and tenant."""

    class Kind(models.TextChoices):
        PROVIDER = "provider"
        CHANNEL = "channel"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    target = models.CharField(max_length=32)
    # Empty: every tenant.
    tenant = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    paused_by = models.CharField(max_length=150)
    paused_at = models.DateTimeField(default=timezone.now)
    resumed_by = models.CharField(max_length=150, blank=True, default="")
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-paused_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "target", "tenant"],
                condition=Q(resumed_at__isnull=True),
                name="pause_one_open_per_target_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target}" + (f" for {self.tenant}" if self.tenant else "")
