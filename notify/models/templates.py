from __future__ import annotations

from django.db import models
from django.utils import timezone

from notify.ids import uuid7


class Template(models.Model):
    """Per-channel message parts in Django template syntax, addressed by a key.

    `content` has the same shape as a request's inline content:
    {"email": {"subject", "text", "html"}, "sms": {"text"}, "push": {"title", "body", "data"}}.
    Notifications store what was rendered, so editing a template never alters what was sent;
    `version` counts content changes and names the TemplateVersion holding that source.
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


class TemplateVersion(models.Model):
    """The source of one version of a template, kept so that a notification's
    (template_key, template_version) can be traced to what it was rendered from. Written
    only by notify.services.content.templates."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    content = models.JSONField(default=dict)
    description = models.CharField(max_length=255, blank=True, default="")
    # Who wrote it: an API key's name, an admin username, or "file:<path>" for load_templates.
    created_by = models.CharField(max_length=150, blank=True, default="")
    # Not auto_now_add: the backfill migration dates each row from its template.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["template_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "version"], name="template_version_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.version}"
