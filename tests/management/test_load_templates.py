"""`manage.py load_templates`: the shipped defaults land in the database as versioned
templates that a notification can use right away."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from notify.models import Notification, Template, TemplateVersion


def _load(*args: str) -> str:
    out = StringIO()
    call_command("load_templates", *args, stdout=out)
    return out.getvalue()


def test_it_loads_the_shipped_defaults_once(db: Any) -> None:
    first = _load()
    second = _load()

    assert "6 template(s)" in first and "6 created, 0 updated, 0 unchanged, 0 kept." in first
    assert "0 created, 0 updated, 6 unchanged, 0 kept." in second
    assert set(Template.objects.values_list("key", "locale", "version")) == {
        (key, locale, 1)
        for key in ("login-alert", "password-reset", "welcome")
        for locale in ("", "fr")
    }
    assert TemplateVersion.objects.filter(created_by__startswith="file:").count() == 6


def test_a_template_edited_through_the_api_is_kept_and_reported(
    db: Any, api: APIClient, tmp_path: Path
) -> None:
    (tmp_path / "hello" / "default").mkdir(parents=True)
    (tmp_path / "hello" / "default" / "sms.text").write_text("Hi from the file\n")
    _load("--dir", str(tmp_path))
    api.put(
        "/api/v1/templates/hello/", {"content": {"sms": {"text": "Hi from ops"}}}, format="json"
    )
    (tmp_path / "hello" / "default" / "sms.text").write_text("Hi from the new file\n")

    kept = _load("--dir", str(tmp_path))
    overwritten = _load("--dir", str(tmp_path), "--overwrite")

    assert "kept hello/default: edited in the database" in kept
    assert "updated hello/default" in overwritten
    template = Template.objects.get()
    assert (template.version, template.content) == (3, {"sms": {"text": "Hi from the new file"}})


def test_invalid_files_load_nothing(db: Any, tmp_path: Path) -> None:
    (tmp_path / "good" / "default").mkdir(parents=True)
    (tmp_path / "good" / "default" / "sms.text").write_text("fine")
    (tmp_path / "bad" / "default").mkdir(parents=True)
    (tmp_path / "bad" / "default" / "sms.text").write_text("{% if %}")

    with pytest.raises(CommandError, match=r"bad/default/sms.text: Template syntax"):
        _load("--dir", str(tmp_path))

    assert not Template.objects.exists()


def test_a_loaded_default_is_sent_in_the_recipients_language(db: Any, api: APIClient) -> None:
    _load()

    sent = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "42", "email": "ada@example.com", "locale": "fr-CA"},
            "template": "password-reset",
            "data": {"reset_url": "https://app.example/r/abc", "name": "Ada"},
            "priority": "critical",
        },
        format="json",
    )

    assert sent.status_code == 202, sent.content
    body = sent.json()
    fr = Template.objects.get(key="password-reset", locale="fr")
    assert (body["template"], body["template_version"]) == ("password-reset", fr.version)
    detail = api.get(f"/api/v1/notifications/{body['id']}/").json()
    assert detail["template_version"] == fr.version
    assert fr.versions.filter(version=detail["template_version"]).exists()
    email = Notification.objects.get(id=body["id"]).content["email"]
    assert email["subject"] == "Réinitialisez votre mot de passe"
    assert "Bonjour Ada," in email["text"] and "https://app.example/r/abc" in email["text"]
    missing = api.post(
        "/api/v1/notifications/",
        {"recipient": {"id": "42", "email": "ada@example.com"}, "template": "password-reset"},
        format="json",
    )
    assert missing.status_code == 400
    assert "reset_url" in str(missing.json()["fields"])
