"""Writing templates. Every write (API, admin, load_templates) comes through template_save,
which keeps the invariant that a template's `version` names a TemplateVersion row holding
that version's source."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from notify.models.templates import Template, TemplateVersion
from notify.services.content.rendering import template_check_syntax


class TemplateInvalid(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


def template_save(
    *,
    tenant: str,
    key: str,
    locale: str,
    content: dict[str, Any],
    description: str = "",
    created_by: str = "",
) -> Template:
    """Create the template, or give it new content as a new version. The same content again
    only updates the description: a version is a change to what would be sent. What was
    already sent keeps the content it was rendered with."""
    errors = template_check_syntax(content=content)
    if errors:
        raise TemplateInvalid({f"content.{k}": v for k, v in errors.items()})
    with transaction.atomic():
        template, created = Template.objects.get_or_create(
            tenant=tenant,
            key=key,
            locale=locale,
            defaults={"content": content, "description": description},
        )
        if not created:
            # The lock orders concurrent saves, so each gets its own version number.
            template = Template.objects.select_for_update().get(pk=template.pk)
            if template.content == content:
                if template.description != description:
                    template.description = description
                    template.save(update_fields=["description", "updated_at"])
                return template
            template.content, template.description = content, description
            template.version += 1
            template.save(update_fields=["content", "description", "version", "updated_at"])
        TemplateVersion.objects.create(
            template=template,
            version=template.version,
            content=content,
            description=description,
            created_by=created_by,
        )
    return template


def template_version_restore(*, version: TemplateVersion, created_by: str = "") -> Template:
    """Make an old version current again, as a new version: history is never rewritten."""
    template = version.template
    return template_save(
        tenant=template.tenant,
        key=template.key,
        locale=template.locale,
        content=version.content,
        description=version.description,
        created_by=created_by,
    )


def template_versions(*, template: Template) -> QuerySet[TemplateVersion]:
    """Newest first."""
    return TemplateVersion.objects.filter(template=template).order_by("-version")


def template_delete(*, template: Template) -> None:
    # Its history goes with it; sent notifications keep their rendered content regardless.
    template.delete()
