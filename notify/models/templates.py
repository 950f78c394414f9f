from __future__ import annotations

from django.db import models

from notify.ids import uuid7


class Template(models.Model):
    """Per-channel message parts in Django template syntax, addressed by a key.

    `content` has the same shape as a request's inline content:
    {"email": {"subject", "text", "html"}, "sms": {"text"}, "push": {"title", "body", "data"}}.
    Notifications store what was rendered, so editing a template never alters what was sent;
    `version` counts edits.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.CharField(max_length=64, default="default")
    key = models.SlugField(max_length=100)
    locale = models.CharField(max_length=35, blank=True, default="")
    description = models.CharField(max_length=255, blank=True, default="")
    content = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key", "locale"], name="template_unique_key_locale"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} [{self.locale}]" if self.locale else self.key
