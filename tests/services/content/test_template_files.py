"""Default templates as files: the layout, the checks, and how loading treats templates that
were edited in the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from notify.models import Template
from notify.services.content.rendering import RenderError, content_render
from notify.services.content.template_files import (
    TemplateFile,
    TemplateFilesInvalid,
    template_files_read,
    templates_default_dir,
    templates_load,
)
from notify.services.content.templates import template_save, template_versions

SHIPPED = {
    # key: data each one needs to render
    "password-reset": {"reset_url": "https://app.example/reset/abc"},
    "welcome": {"login_url": "https://app.example/login"},
    "login-alert": {"device": "Firefox on Linux"},
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _variant(locale: str = "", text: str = "Hi {{ name }}") -> TemplateFile:
    return TemplateFile(key="hello", locale=locale, description="", content={"sms": {"text": text}})


def test_each_file_fills_the_part_it_is_named_after(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "hello/description.txt": "Greeting\n",
            "hello/default/email.subject": "Hi {{ name }}\n",
            "hello/default/email.text": "Hello {{ name }}\n",
            "hello/default/email.html": "<p>Hello {{ name }}</p>\n",
            "hello/default/push.title": "Hi\n",
            "hello/default/push.data": '{"url": "{{ url }}"}',
            "hello/fr-CA/sms.text": "Salut {{ name }}\n",
        },
    )

    found = {(f.key, f.locale): f for f in template_files_read(directory=tmp_path)}

    assert set(found) == {("hello", ""), ("hello", "fr-CA")}
    assert found["hello", ""].content == {
        "email": {
            "subject": "Hi {{ name }}",
            "text": "Hello {{ name }}",
            "html": "<p>Hello {{ name }}</p>\n",
        },
        "push": {"title": "Hi", "data": {"url": "{{ url }}"}},
    }
    assert found["hello", ""].description == "Greeting"
    assert found["hello", "fr-CA"].content == {"sms": {"text": "Salut {{ name }}"}}


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "ok/default/sms.text": "fine",
            "typo/default/sms.txt": "x",
            "locale/english/sms.text": "x",
            "syntax/default/sms.text": "{% if %}",
            "shape/default/email.text": "no subject",
            "data/default/push.title": "t",
            "data/default/push.data": "[1]",
            "forbidden/default/email.subject": "{% include 'x.html' %}",
            "forbidden/default/email.text": "x",
        },
    )

    with pytest.raises(TemplateFilesInvalid) as caught:
        template_files_read(directory=tmp_path)

    problems = "\n".join(caught.value.problems)
    assert "typo/default/sms.txt: unknown part" in problems
    assert "locale/english: not a locale" in problems
    assert "syntax/default/sms.text: Template syntax" in problems
    assert "shape/default/email.subject: This field is required." in problems
    assert "data/default/push.data: must be a JSON object" in problems
    assert "forbidden/default/email.subject: Template syntax: include is not allowed" in problems
    assert "ok/" not in problems
    assert len(caught.value.problems) == 6


@pytest.mark.parametrize("key", sorted(SHIPPED))
@pytest.mark.parametrize("locale", ["", "fr"])
def test_the_shipped_defaults_render_in_english_and_french(key: str, locale: str) -> None:
    found = {(f.key, f.locale): f for f in template_files_read(directory=templates_default_dir())}
    context = {**SHIPPED[key], "recipient": {"id": "42"}, "unsubscribe_url": ""}

    rendered = content_render(content=found[key, locale].content, context=context)

    assert set(rendered) >= {"email", "sms", "push"}
    assert rendered["email"]["subject"] and rendered["push"]["title"]
    first_value = next(iter(SHIPPED[key].values()))
    assert first_value in rendered["email"]["text"]
    assert first_value in rendered["email"]["html"]
    assert first_value in rendered["sms"]["text"]
    assert "{{" not in json.dumps(rendered)
    with pytest.raises(RenderError) as missing:
        content_render(content=found[key, locale].content, context={"unsubscribe_url": ""})
    assert next(iter(SHIPPED[key])) in str(missing.value.errors)


def test_loading_creates_then_leaves_identical_templates_alone(db: Any) -> None:
    first = templates_load(tenant="default", files=[_variant(), _variant("fr")], overwrite=False)
    again = templates_load(tenant="default", files=[_variant(), _variant("fr")], overwrite=False)

    assert (first.created, again.unchanged) == (["hello/default", "hello/fr"],) * 2
    assert again.created == again.updated == again.kept == []
    assert [t.version for t in Template.objects.all()] == [1, 1]
    template = Template.objects.get(locale="fr")
    assert template_versions(template=template).get().created_by == "file:hello/fr"


def test_a_changed_file_is_a_new_version_of_a_template_the_files_own(db: Any) -> None:
    templates_load(tenant="default", files=[_variant()], overwrite=False)

    report = templates_load(
        tenant="default", files=[_variant(text="Hey {{ name }}")], overwrite=False
    )

    template = Template.objects.get()
    assert report.updated == ["hello/default"]
    assert (template.version, template.content) == (2, {"sms": {"text": "Hey {{ name }}"}})


def test_a_template_edited_in_the_database_is_kept_unless_overwrite(db: Any) -> None:
    templates_load(tenant="default", files=[_variant()], overwrite=False)
    edited = {"sms": {"text": "Edited by ops {{ name }}"}}
    template_save(tenant="default", key="hello", locale="", content=edited, created_by="ops")
    newer_file = _variant(text="Hey {{ name }}")

    kept = templates_load(tenant="default", files=[newer_file], overwrite=False)
    assert kept.kept == ["hello/default"]
    assert (Template.objects.get().version, Template.objects.get().content) == (2, edited)

    overwritten = templates_load(tenant="default", files=[newer_file], overwrite=True)
    assert overwritten.updated == ["hello/default"]
    template = Template.objects.get()
    assert (template.version, template.content) == (3, newer_file.content)


def test_loading_into_another_tenant_leaves_the_default_tenant_alone(db: Any) -> None:
    templates_load(tenant="acme", files=[_variant()], overwrite=False)

    assert list(Template.objects.values_list("tenant", "key")) == [("acme", "hello")]


def test_a_locale_folder_without_parts_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty" / "fr").mkdir(parents=True)

    with pytest.raises(TemplateFilesInvalid) as caught:
        template_files_read(directory=tmp_path)

    assert caught.value.problems == ["empty/fr: Give content for at least one channel."]
