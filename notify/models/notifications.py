from __future__ import annotations

from django.db import models
from django.db.models import Q

from channels import choices as channel_choices
from notify.ids import uuid7
from notify.observability.traceparent import traceparent_current
from notify.statuses import TERMINAL_STATUSES, AttemptOutcome, DeliveryStatus

__all__ = ["TERMINAL_STATUSES", "DeliveryStatus", "Priority"]


class Priority(models.IntegerChoices):
    """Lower ranks are claimed first; critical and high also ride the urgent queue."""

    CRITICAL = 0, "critical"
    HIGH = 1, "high"
    NORMAL = 2, "normal"
    LOW = 3, "low"


class Notification(models.Model):
    """One request to tell one recipient something; fans out into one delivery per channel
    (per device for push)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    api_key = models.ForeignKey(
        "notify.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.ForeignKey(
        "notify.Recipient", on_delete=models.PROTECT, related_name="notifications"
    )
    category = models.CharField(max_length=100, blank=True, default="")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    template_key = models.CharField(max_length=100, blank=True, default="")
    template_version = models.PositiveIntegerField(null=True, blank=True)
    # What was rendered for each channel, frozen at accept time.
    content = models.JSONField(default=dict)
    send_at = models.DateTimeField(null=True, blank=True)
    # "fallback": one channel at a time in `channel_order` (empty: every channel with
    # content, in the category's `fallback_order`), the next only if the previous could not
    # reach the person (no contact point, opted out, permanent failure at send or reported
    # later by the provider) and the notification was not cancelled.
    strategy = models.CharField(max_length=16, default="all")
    broadcast = models.ForeignKey(
        "notify.Broadcast",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    channel_order = models.JSONField(default=list, blank=True)
    # When the caller cancelled it (POST …/cancel/): a "fallback" notification tries no
    # further channel after this, even when a delivery already sent is reported failed later.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Joined to a digest: sent as one of its items, not alone; `digest_data` is this
    # message's template data, rendered into the digest at flush.
    digest = models.ForeignKey(
        "notify.Digest", null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    digest_data = models.JSONField(null=True, blank=True)
    # The trace this notification was created in, continued by the worker's send span.
    trace_parent = models.CharField(
        max_length=55, blank=True, default=traceparent_current, editable=False
    )
    # NULL, not "", when absent: the unique constraint below must ignore keyless rows.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            # Frequency caps count a recipient's recent notifications.
            models.Index(fields=["recipient", "created_at"], name="notification_recent"),
            # The API's list: one tenant's notifications, newest first.
            models.Index(fields=["tenant", "-created_at"], name="notification_tenant_newest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="notification_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)


class Delivery(models.Model):
    """One message on one channel to one address: the unit that is claimed, sent and retried."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Read from the channel registry when used, so the migration names the function, not
    # today's list: a new channel needs no migration.
    channel = models.CharField(max_length=16, choices=channel_choices)
    to = models.CharField(max_length=4096, blank=True, default="")
    # Indexed only where set (delivery_device below): most deliveries are email or SMS, and
    # a full index took an entry for each of them at insert and at every status change.
    device = models.ForeignKey(
        "notify.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    provider = models.CharField(max_length=32, blank=True, default="")
    # Set after an ambiguous send: the retry must go to the same provider (failing over could
    # only produce a duplicate, never recover a loss).
    pinned_provider = models.CharField(max_length=32, blank=True, default="")
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    # When the delivery is next due: now, its send_at, or the end of its backoff.
    next_attempt_at = models.DateTimeField()
    # Fencing token of the claim in force; outcomes are written only under the same token.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The claim and the sweeper read only due pending work.
            models.Index(
                fields=["channel", "priority", "next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_pending_due",
            ),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="delivery_leased"
            ),
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="delivery_provider_msg",
            ),
            models.Index(fields=["status", "channel"], name="delivery_status_channel"),
            # A device's deletion sets its deliveries' device to null (SET_NULL).
            models.Index(
                fields=["device"], condition=Q(device__isnull=False), name="delivery_device"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to}"


class DeliveryAttempt(models.Model):
    """One provider call: the timeline of a delivery."""

    Outcome = AttemptOutcome

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    provider = models.CharField(max_length=32)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome}"
