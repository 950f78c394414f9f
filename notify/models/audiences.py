from __future__ import annotations

from django.db import models
from django.db.models import Q

from notify.ids import uuid7


class Topic(models.Model):
    """A named audience recipients subscribe to; sending to it fans out to every subscriber."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="topic_unique_key")]

    def __str__(self) -> str:
        return self.key


class Subscription(models.Model):
    id = models.BigAutoField(primary_key=True)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="subscriptions")
    recipient = models.ForeignKey(
        "notify.Recipient", on_delete=models.CASCADE, related_name="subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "recipient"], name="subscription_unique"),
        ]
        # A topic broadcast reads its subscribers a chunk at a time in this order, each chunk
        # starting after the last one's (Broadcast.topic_cursor).
        indexes = [models.Index(fields=["topic", "id"], name="subscription_topic_order")]

    def __str__(self) -> str:
        return f"{self.topic_id} ← {self.recipient_id}"


class Broadcast(models.Model):
    """One message to many recipients (a list, or a topic's subscribers), accepted at once
    and expanded into notifications in the background, chunk by chunk."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted"
        EXPANDING = "expanding"
        EXPANDED = "expanded"
        CANCELLED = "cancelled"
        # Stopped before every recipient was expanded (the render budget ran out): `reason`.
        HALTED = "halted"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    api_key = models.ForeignKey(
        "notify.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL)
    # The validated request minus its recipients: template/content, data, channels, ….
    request = models.JSONField(default=dict)
    recipients = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    expanded = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    # Why the broadcast was halted; empty otherwise.
    reason = models.TextField(blank=True, default="")
    # Seconds spent rendering its messages so far, all chunks together (one update a chunk):
    # held to NOTIFY_RENDER_MAX_BROADCAST_SECONDS.
    render_seconds = models.FloatField(default=0.0)
    # A topic broadcast: the id of the last subscription expanded; the next chunk starts
    # after it (not at an offset, which Postgres would count from the start every chunk).
    topic_cursor = models.BigIntegerField(null=True, blank=True, editable=False)
    # The request's Idempotency-Key (NULL when absent: the constraint ignores keyless rows)
    # and the hash of its body, as on Notification; keys of broadcasts are their own set.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="broadcast_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)
