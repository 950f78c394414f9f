"""`make run` loads templates/notify/defaults/ after migrating: on every start, without new
versions when nothing changed, and without overwriting a template edited in the database."""

from __future__ import annotations

import io
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from notify.models.templates import Template, TemplateVersion
from notify.services.content.templates import template_save
from notify.stack import bootstrap
from notify.stack.banner import TEMPLATE_EXAMPLE
from notify.stack.bootstrap import load_default_templates, prepare_django
from notify.stack.console import Console

ROOT = Path(__file__).resolve().parents[2]


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(out, color=False), out


def test_the_bootstrap_step_loads_the_defaults_once_and_keeps_database_edits(
    transactional_db: Any, process_env: dict[str, str]
) -> None:
    # The real step: `manage.py load_templates` as a child process, on the test database.
    console, out = _console()

    keys = load_default_templates(ROOT, dict(process_env), console)

    assert TEMPLATE_EXAMPLE["template"] in keys
    reset = Template.objects.get(tenant="default", key="password-reset", locale="")
    assert reset.version == 1
    assert TemplateVersion.objects.filter(template=reset).count() == 1
    versions = TemplateVersion.objects.count()
    assert "created password-reset/default" in out.getvalue()

    # Someone edits one in the admin; the next start keeps it and says so.
    template_save(
        tenant="default",
        key="welcome",
        locale="",
        content={"sms": {"text": "Edited in the admin"}},
        created_by="admin",
    )
    console, out = _console()

    assert load_default_templates(ROOT, dict(process_env), console) == keys

    assert Template.objects.get(key="password-reset", locale="").version == 1
    assert TemplateVersion.objects.count() == versions + 1  # only the admin's edit
    welcome = Template.objects.get(tenant="default", key="welcome", locale="")
    assert welcome.content == {"sms": {"text": "Edited in the admin"}}
    assert "kept welcome/default" in out.getvalue()
    assert " 0 created, 0 updated," in out.getvalue()
    assert "failed" not in out.getvalue()


def test_invalid_files_are_reported_but_do_not_stop_the_start(tmp_path: Path) -> None:
    # A checkout whose defaults folder is broken: load_templates exits non-zero, and the
    # stack starts without default templates instead of not at all.
    (tmp_path / "manage.py").write_text("import sys; print('partial output'); sys.exit(1)\n")
    console, out = _console()

    assert load_default_templates(tmp_path, {}, console) == ()
    assert "load_templates failed (status 1); continuing without them" in out.getvalue()


class FakeManage:
    """Stands in for `manage.py`: records each command, answers the shell's key check."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def __call__(
        self, root: Path, env: MutableMapping[str, str], *args: str, capture: bool = False
    ) -> str:
        self.commands.append(args[0])
        if args[0] == "load_templates":
            return "3 template(s) from x: 0 created, 0 updated, 3 unchanged, 0 kept.\n"
        return "demo-key: valid\n" if args[0] == "shell" else ""


@pytest.mark.parametrize("load", [True, False])
def test_templates_load_right_after_migrate_unless_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: bool
) -> None:
    manage = FakeManage()
    monkeypatch.setattr(bootstrap, "_manage", manage)
    (tmp_path / "demo-api-key").write_text("ntf_stored\n")
    console, out = _console()

    prepared = prepare_django(ROOT, {}, tmp_path, console, load_templates=load)

    if load:
        assert manage.commands == ["migrate", "load_templates", "collectstatic", "shell"]
        assert TEMPLATE_EXAMPLE["template"] in prepared.templates
        assert "3 unchanged" in out.getvalue()
    else:
        assert manage.commands == ["migrate", "collectstatic", "shell"]
        assert prepared.templates == ()
        assert "NOTIFY_LOAD_DEFAULT_TEMPLATES=0" in out.getvalue()
    assert prepared.api_key == "ntf_stored"
