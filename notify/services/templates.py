from __future__ import annotations

from typing import Any

from django.db.models import F

from notify.models.templates import Template
from notify.services.rendering import template_check_syntax


class TemplateInvalid(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


def template_save(
    *, tenant: str, key: str, locale: str, content: dict[str, Any], description: str = ""
) -> Template:
    """Create the template or replace its content, bumping its version. What was already
    sent keeps the content it was rendered with."""
    errors = template_check_syntax(content=content)
    if errors:
        raise TemplateInvalid({f"content.{k}": v for k, v in errors.items()})
    template, created = Template.objects.get_or_create(
        tenant=tenant,
        key=key,
        locale=locale,
        defaults={"content": content, "description": description},
    )
    if not created:
        Template.objects.filter(pk=template.pk).update(
            content=content, description=description, version=F("version") + 1
        )
        template.refresh_from_db()
    return template


def template_delete(*, template: Template) -> None:
    template.delete()
