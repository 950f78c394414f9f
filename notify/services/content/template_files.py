"""Default templates kept as files and loaded into the database (`manage.py load_templates`).

Layout, one folder per key and one per locale ("default" is the no-locale fallback), one
file per part, named after the part it fills:

    templates/notify/defaults/<key>/description.txt        optional, one line
    templates/notify/defaults/<key>/<default|fr|fr-CA>/email.subject
                                                        .../email.text, email.html
                                                        .../sms.text
                                                        .../push.title, push.body
                                                        .../push.data   (a JSON object)

Loading goes through template_save, so a changed file is a new version. A template whose
newest version was written by someone else (API, admin) was edited in the database: it is
left alone unless `overwrite` is given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from channels import content_parts
from notify.models.templates import Template
from notify.services.content.rendering import template_check_syntax
from notify.services.content.templates import template_save, template_versions
from notify.validation.content import ContentSerializer

DEFAULT_LOCALE_DIR = "default"
# What load_templates writes as a version's author; anything else is a database edit.
FILE_AUTHOR_PREFIX = "file:"
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_KEY = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")


def templates_default_dir() -> Path:
    return Path(settings.BASE_DIR) / "templates" / "notify" / "defaults"


class TemplateFilesInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems


@dataclass(frozen=True)
class TemplateFile:
    key: str
    locale: str
    description: str
    content: dict[str, Any]

    @property
    def source(self) -> str:
        """Where it came from, relative to the defaults folder: `welcome/fr`."""
        return f"{self.key}/{self.locale or DEFAULT_LOCALE_DIR}"


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited in the database; not overwritten


def template_files_read(*, directory: Path) -> list[TemplateFile]:
    """Every template variant under `directory`, checked as the API would check it.
    Raises TemplateFilesInvalid naming every problem, so nothing half-valid gets loaded."""
    if not directory.is_dir():
        raise TemplateFilesInvalid([f"{directory}: not a directory."])
    found: list[TemplateFile] = []
    problems: list[str] = []
    for key_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        if not _KEY.match(key_dir.name):
            problems.append(f"{key_dir.name}: not a template key (letters, digits, - and _).")
            continue
        description = _read_description(key_dir)
        if len(description) > 255:
            problems.append(f"{key_dir.name}/description.txt: longer than 255 characters.")
        for locale_dir in sorted(p for p in key_dir.iterdir() if p.is_dir()):
            variant, errors = _read_variant(key_dir.name, locale_dir, description)
            problems += errors
            if variant is not None:
                found.append(variant)
    if problems:
        raise TemplateFilesInvalid(problems)
    return found


def _read_description(key_dir: Path) -> str:
    path = key_dir / "description.txt"
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def _read_variant(
    key: str, locale_dir: Path, description: str
) -> tuple[TemplateFile | None, list[str]]:
    where = f"{key}/{locale_dir.name}"
    if locale_dir.name != DEFAULT_LOCALE_DIR and not _LOCALE.match(locale_dir.name):
        return None, [f"{where}: not a locale (fr, fr-CA) nor {DEFAULT_LOCALE_DIR!r}."]
    content: dict[str, Any] = {}
    problems: list[str] = []
    part_files = {f"{c}.{p}" for c, parts in content_parts().items() for p in parts}
    for path in sorted(p for p in locale_dir.iterdir() if p.is_file()):
        if path.name not in part_files:
            known = ", ".join(sorted(part_files))
            problems.append(f"{where}/{path.name}: unknown part; use {known}.")
            continue
        channel, part = path.name.split(".")
        try:
            content.setdefault(channel, {})[part] = _read_part(path, part)
        except ValueError as exc:
            problems.append(f"{where}/{path.name}: {exc}")
    if problems:
        return None, problems
    shape = ContentSerializer(data=content)
    if not shape.is_valid():
        return None, [f"{where}/{p}: {m}" if p else f"{where}: {m}" for p, m in _flat(shape.errors)]
    syntax = template_check_syntax(content=content)
    if syntax:
        return None, [f"{where}/{part}: {m}" for part, ms in syntax.items() for m in ms]
    locale = "" if locale_dir.name == DEFAULT_LOCALE_DIR else locale_dir.name
    return TemplateFile(key=key, locale=locale, description=description, content=content), []


def _read_part(path: Path, part: str) -> Any:
    text = path.read_text(encoding="utf-8")
    if part == "data":
        data = json.loads(text)  # a JSONDecodeError is a ValueError
        if not isinstance(data, dict):
            raise ValueError("must be a JSON object of strings.")
        return data
    # Editors end files with a newline; a subject or push title must be one line. HTML is
    # kept as written.
    return text if part == "html" else text.strip()


def _flat(errors: Any, path: str = "") -> list[tuple[str, str]]:
    """DRF's nested errors as (`email.subject`, `This field is required.`) pairs."""
    if isinstance(errors, dict):
        return [
            pair
            for k, v in errors.items()
            for pair in _flat(v, path if k == "non_field_errors" else f"{path}.{k}".lstrip("."))
        ]
    if isinstance(errors, list):
        return [pair for v in errors for pair in _flat(v, path)]
    return [(path, str(errors))]


def templates_load(*, tenant: str, files: list[TemplateFile], overwrite: bool) -> LoadReport:
    """Bring the database in line with the files, all or nothing."""
    report = LoadReport()
    with transaction.atomic():
        for item in files:
            outcome = _outcome(tenant, item, overwrite)
            if outcome in ("created", "updated"):
                template_save(
                    tenant=tenant,
                    key=item.key,
                    locale=item.locale,
                    content=item.content,
                    description=item.description,
                    created_by=FILE_AUTHOR_PREFIX + item.source,
                )
            getattr(report, outcome).append(item.source)
    return report


def _outcome(tenant: str, item: TemplateFile, overwrite: bool) -> str:
    template = Template.objects.filter(tenant=tenant, key=item.key, locale=item.locale).first()
    if template is None:
        return "created"
    if (template.content, template.description) == (item.content, item.description):
        return "unchanged"
    newest = template_versions(template=template).first()
    edited_in_db = newest is None or not newest.created_by.startswith(FILE_AUTHOR_PREFIX)
    return "kept" if edited_in_db and not overwrite else "updated"
