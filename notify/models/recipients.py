from __future__ import annotations

from django.db import models

from notify.ids import uuid7


class Recipient(models.Model):
    """A person, known by the caller's own id; contact points are merged in on every send."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    external_id = models.CharField(max_length=255)
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164")
    locale = models.CharField(max_length=35, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")
    # Local times (in `timezone`) between which non-critical messages wait; may span
    # midnight (22:00 → 07:00).
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], name="recipient_unique_id"),
        ]
        indexes = [
            models.Index(fields=["email"], name="recipient_email"),
            models.Index(fields=["phone"], name="recipient_phone"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Device(models.Model):
    """A push token. Deactivated (not deleted) when FCM reports it unregistered, so the
    history of what was sent to it stays readable."""

    class Platform(models.TextChoices):
        ANDROID = "android"
        IOS = "ios"
        WEB = "web"
        UNKNOWN = "unknown"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="devices")
    token = models.CharField(max_length=4096)
    platform = models.CharField(max_length=16, choices=Platform.choices, default="unknown")
    active = models.BooleanField(default=True)
    deactivated_reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "token"], name="device_unique_token"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.token[:12]}…"
