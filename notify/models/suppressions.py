from __future__ import annotations

from django.db import models

from notify.ids import uuid7


class Suppression(models.Model):
    """An address that must not be contacted on a channel: a hard bounce, a spam complaint,
    an SMS STOP. Checked when a notification is accepted and again just before sending."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        UNSUBSCRIBED = "unsubscribed"  # e.g. SMS STOP (Twilio 21610)
        INVALID = "invalid"
        MANUAL = "manual"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    channel = models.CharField(max_length=16)
    address = models.CharField(max_length=4096)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    detail = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "address"], name="suppression_unique_address"
            ),
        ]

    def __str__(self) -> str:
        # No address: this string shows up in admin labels and logs.
        return f"{self.channel} suppression ({self.reason}, {self.created_at:%Y-%m-%d})"
