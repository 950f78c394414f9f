from __future__ import annotations

from django.db import models
from django.db.models import Q

from notify.ids import uuid7


class Digest(models.Model):
    """Messages for one recipient under one key, gathered until `flush_at` and then sent as
    one notification. At most one digest per (tenant, recipient, key) is open; the flush is
    claimed like a delivery (lease, fencing token) and commits with the notification it
    creates, so it happens once."""

    class Status(models.TextChoices):
        OPEN = "open"  # gathering; flushed once due
        SENT = "sent"  # its notification was created (what became of it is on that row)
        CANCELLED = "cancelled"  # by an operator, or nothing was left in it at flush
        FAILED = "failed"  # could not be rendered or reach the recipient; see last_error

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    recipient = models.ForeignKey(
        "notify.Recipient", on_delete=models.CASCADE, related_name="digests"
    )
    key = models.SlugField(max_length=100)
    # "10m" (a window opened by the first message) or "daily@09:00" / "weekly@mon@09:00".
    rule = models.CharField(max_length=32)
    api_key = models.ForeignKey(
        "notify.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How the digest notification is sent: from the message that opened the digest.
    template_key = models.CharField(max_length=100)
    category = models.CharField(max_length=100, blank=True, default="")
    priority = models.PositiveSmallIntegerField(default=2)
    channels = models.JSONField(default=list, blank=True)
    strategy = models.CharField(max_length=16, default="all")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    flush_at = models.DateTimeField()
    max_items = models.PositiveIntegerField(null=True, blank=True)
    # Messages joined, including any cancelled since.
    count = models.PositiveIntegerField(default=0)
    # Fencing token of the flush claim in force: only its holder may close the digest.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    notification = models.OneToOneField(
        "notify.Notification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="digest_sent",
    )
    # The joined notifications the digest notification carried, oldest first.
    item_ids = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "recipient", "key"],
                condition=Q(status="open"),
                name="digest_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["flush_at"], condition=Q(status="open"), name="digest_open_due"),
            # The few digests a flush holds right now: when the next claim could take one
            # back is read from here, not from a scan of every open digest.
            models.Index(
                fields=["lease_until"],
                condition=Q(status="open", lease_until__isnull=False),
                name="digest_open_leased",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class DigestChoice(models.Model):
    """A recipient's choice to get one category's messages as a digest ("daily@18:00")
    instead of one by one."""

    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(
        "notify.Recipient", on_delete=models.CASCADE, related_name="digest_choices"
    )
    category = models.ForeignKey("notify.Category", on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "category"], name="digest_choice_unique"),
        ]

    def __str__(self) -> str:
        return self.rule
