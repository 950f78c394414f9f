"""template_save keeps every version's source; restoring an old version is a new version."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

from notify.models import Template, TemplateVersion
from notify.services.content.templates import (
    template_delete,
    template_save,
    template_version_restore,
    template_versions,
)

V1 = {"sms": {"text": "Code {{ code }}"}}
V2 = {"sms": {"text": "Your code: {{ code }}"}}


def _save(content: dict[str, Any], **kwargs: Any) -> Template:
    return template_save(tenant="default", key="code", locale="", content=content, **kwargs)


def _history(template: Template) -> list[tuple[int, dict[str, Any], str]]:
    return [(v.version, v.content, v.created_by) for v in template_versions(template=template)]


def test_creating_a_template_records_version_1(db: Any) -> None:
    template = _save(V1, description="Login code", created_by="ops-key")

    version = TemplateVersion.objects.get()
    assert (version.template_id, version.version, version.content) == (template.pk, 1, V1)
    assert (version.description, version.created_by) == ("Login code", "ops-key")


def test_new_content_is_a_new_version_and_the_old_source_is_kept(db: Any) -> None:
    _save(V1, created_by="alice")

    template = _save(V2, created_by="bob")

    assert (template.version, template.content) == (2, V2)
    assert _history(template) == [(2, V2, "bob"), (1, V1, "alice")]


def test_saving_the_same_content_again_is_not_a_new_version(db: Any) -> None:
    _save(V1, description="old")

    template = _save(V1, description="new")

    assert template.version == 1
    assert Template.objects.get().description == "new"
    assert [v for v, _, _ in _history(template)] == [1]


def test_restoring_an_old_version_writes_its_content_as_a_new_version(db: Any) -> None:
    _save(V1, description="first")
    template = _save(V2)

    restored = template_version_restore(
        version=template.versions.get(version=1), created_by="admin"
    )

    assert (restored.version, restored.content, restored.description) == (3, V1, "first")
    assert _history(restored) == [(3, V1, "admin"), (2, V2, ""), (1, V1, "")]


def test_restoring_the_current_content_changes_nothing(db: Any) -> None:
    template = _save(V1)

    restored = template_version_restore(version=template.versions.get(version=1))

    assert restored.version == 1
    assert TemplateVersion.objects.count() == 1


def test_deleting_a_template_deletes_its_history(db: Any) -> None:
    template = _save(V1)
    _save(V2)

    template_delete(template=template)

    assert not TemplateVersion.objects.exists()


def test_the_migration_gives_each_existing_template_its_current_version(db: Any) -> None:
    # Templates written before history was kept: no TemplateVersion rows.
    old = Template.objects.create(key="old", content=V2, version=4, description="legacy")
    migration = importlib.import_module("notify.migrations.0007_template_versions")

    migration.backfill_versions(apps, None)

    version = TemplateVersion.objects.get()
    assert (version.template_id, version.version, version.content) == (old.pk, 4, V2)
    assert (version.description, version.created_at) == ("legacy", old.updated_at)
