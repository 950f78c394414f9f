from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notify.services.access.apikeys import ALL_SCOPES, KNOWN_SCOPES, api_key_create
from notify.services.access.ratelimits import RATE_HELP


class Command(BaseCommand):
    help = "Create an API key. The raw key is printed alone on the last line, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--tenant", default="default")
        parser.add_argument(
            "--scopes",
            default=",".join(ALL_SCOPES),
            help="Comma-separated: send, read, manage, platform (default: send,read,manage; "
            "platform pauses providers and channels for every tenant)",
        )
        parser.add_argument(
            "--rate",
            default="",
            help=f"This key's own limit in notifications per period. {RATE_HELP} "
            "Default: NOTIFY_API_RATE.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        unknown = set(scopes) - set(KNOWN_SCOPES)
        if unknown:
            self.stderr.write(f"Unknown scopes: {', '.join(sorted(unknown))}")
            raise SystemExit(2)
        try:
            key, raw = api_key_create(
                name=options["name"],
                tenant=options["tenant"],
                scopes=scopes,
                rate_limit=options["rate"],
            )
        except ValueError as exc:
            self.stderr.write(f"--rate: {exc}")
            raise SystemExit(2) from exc
        rate = key.rate_limit or "the default"
        self.stdout.write(
            f"Created API key {key.name!r} (tenant {key.tenant}, scopes "
            f"{', '.join(key.scopes)}, rate {rate}). It will not be shown again:"
        )
        self.stdout.write(raw)
