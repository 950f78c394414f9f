from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notify.services.content.template_files import (
    TemplateFilesInvalid,
    template_files_read,
    templates_default_dir,
    templates_load,
)


class Command(BaseCommand):
    help = (
        "Load default templates from files (templates/notify/defaults/<key>/<locale>/). "
        "A changed file becomes a new version. Templates edited in the database (API, admin) "
        "are kept unless --overwrite is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir", type=Path, default=None, help="Default: templates/notify/defaults/"
        )
        parser.add_argument("--tenant", default="default")
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Also replace templates edited in the database (as a new version).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["dir"] or templates_default_dir()
        try:
            files = template_files_read(directory=directory)
        except TemplateFilesInvalid as exc:
            raise CommandError(
                "Nothing loaded; fix these files first:\n  " + "\n  ".join(exc.problems)
            ) from exc
        report = templates_load(
            tenant=options["tenant"], files=files, overwrite=options["overwrite"]
        )
        for source in report.kept:
            self.stdout.write(f"kept {source}: edited in the database (--overwrite replaces it)")
        for outcome in ("created", "updated"):
            for source in getattr(report, outcome):
                self.stdout.write(f"{outcome} {source}")
        self.stdout.write(
            f"{len(files)} template(s) from {directory}: {len(report.created)} created, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
            f"{len(report.kept)} kept."
        )
