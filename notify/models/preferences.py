from __future__ import annotations

from django.db import models

from notify.ids import uuid7


class Category(models.Model):
    """A kind of message operators define (security, billing, marketing…), with the
    channels it uses unless a recipient says otherwise. A critical category (password
    resets, security alerts) ignores preferences, quiet hours and frequency caps."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    critical = models.BooleanField(default=False)
    # Channels a recipient gets by default; an explicit preference overrides.
    default_channels = models.JSONField(default=list)
    # Channel order for "fallback" sends in this category, e.g. ["push", "sms", "email"].
    fallback_order = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="category_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key


class Preference(models.Model):
    """A recipient's opt-in or opt-out for one category on one channel."""

    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(
        "notify.Recipient", on_delete=models.CASCADE, related_name="preferences"
    )
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "category", "channel"], name="preference_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {'on' if self.enabled else 'off'}"
