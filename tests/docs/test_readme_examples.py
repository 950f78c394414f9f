"""Every example in README.md is true: each fenced block and each request spelled out in the
prose is read out of the README (never copied here), run in README order against a live
stack — pytest-django's live server for the API and admin, a real Celery worker and beat,
the provider sandbox standing in for 127.0.0.1:8025 — and checked against what the README
says it answers. A block the test cannot run is listed in NOT_RUNNABLE with the reason, so an
example added to the README without a check fails here."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator

from notify.stack.bootstrap import create_demo_api_key
from notify.stack.console import Console
from tests.conftest import Stack
from tests.docs import readme_steps as steps
from tests.docs.examples import ROOT, Block, Inline, Shell, fenced_blocks, inline_requests
from tests.docs.reader import Reader
from tests.docs.receiver import Receiver
from tests.harness import Sandbox

README = ROOT / "README.md"

# Blocks no test can run, by the start of their first line, with the reason.
NOT_RUNNABLE = {
    "make run": "starts every process on the fixed ports 8000, 8025 and 5555 until Ctrl-C; "
    "what a reader then uses (the banner's URLs, the demo key file) is run below",
    "your backend ──HTTP──▶": "a diagram of the architecture, not a command",
    "# template": "needs a `comments` template; the same flow (messages joining "
    "one digest, one email listing them all) runs through the real worker in "
    "tests/e2e/test_digests.py",
}
Step = Callable[[Reader, Any], None]
# Blocks run, by the start of their first line, and what checks them (tests/docs/readme_steps.py).
RUN: dict[str, Step] = {
    "Notify is up: http://127.0.0.1:8000/": steps.banner_urls_answer,
    "KEY=$(cat .data/demo-api-key)": steps.quick_start_send,
    "curl -sS http://127.0.0.1:8000/api/v1/notifications/<id>/": steps.quick_start_sent,
    "curl -X POST http://127.0.0.1:8025/_sandbox/faults": steps.fault_then_three_attempts,
    "{": steps.notification_body_fields_exist,
    "curl -X POST '…/api/v1/recipient-imports/?dry_run=true'": steps.recipient_import,
    "templates/notify/defaults/password-reset/description.txt": steps.template_files_exist,
    "curl -X POST …/api/v1/categories/": steps.preferences_after_category,
    "curl -X POST …/api/v1/deliveries/replay/": steps.replay_failed,
    "curl -X POST …/api/v1/webhooks/": steps.webhook_registered_and_called,
    '{"id": "5b0c…", "type": "delivery.sent",': steps.webhook_body_as_documented,
    "import hashlib": steps.webhook_signature_verifies,
    "notify/": steps.development_tree_exists,
}
# Requests in the prose, `METHOD /path` followed by a JSON body, by that method and path.
RUN_INLINE: dict[str, Step] = {
    "PUT /api/v1/recipients/{id}/": steps.quiet_hours_set,
    "POST /api/v1/channels/sms/pause/": steps.channel_pause_and_resume,
}


def _classified(key: str, table: dict[str, Any]) -> list[str]:
    """The entries naming this block: its whole first line, or the start of it up to a space."""
    return [e for e in table if key == e or (key.startswith(e) and key[len(e)].isspace())]


def test_every_readme_example_is_run_or_listed_with_a_reason() -> None:
    blocks = fenced_blocks(README)
    assert len(blocks) >= 12  # the parse really finds the README's blocks
    for block in blocks:
        run, skipped = _classified(block.key, RUN), _classified(block.key, NOT_RUNNABLE)
        assert len(run) + len(skipped) == 1, (
            f"README.md:{block.line} ({block.key[:60]!r}) must be run by one step in RUN or "
            f"listed in NOT_RUNNABLE with a reason; it matches {run + skipped}"
        )
    for prefix in [*RUN, *NOT_RUNNABLE]:
        assert any(_classified(b.key, {prefix: 0}) for b in blocks), f"no README block {prefix!r}"
    inline = inline_requests(README)
    assert sorted({i.key for i in inline}) == sorted(RUN_INLINE)


@pytest.fixture
def reader(
    django_db_setup: Any,  # first, so the live server stops before the test database goes
    live_server: Any,
    stack: Stack,
    sandbox: Sandbox,
    process_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[Reader]:
    """A newcomer after `make run`: a .data/demo-api-key written as `make run` writes it, a
    shell whose 127.0.0.1:8000 is the live server and 127.0.0.1:8025 the sandbox, and a
    webhook receiver of their own."""
    web = live_server.url.replace("localhost", "127.0.0.1")
    (tmp_path / ".data").mkdir()
    key = create_demo_api_key(
        ROOT, process_env, tmp_path / ".data" / "demo-api-key", Console(io.StringIO())
    )
    assert key and key.startswith("ntf_")
    receiver = Receiver()
    sandbox_host = sandbox.url.removeprefix("http://")
    shell = Shell(
        tmp_path,
        {
            "http://127.0.0.1:8000": web,
            "http://127.0.0.1:8025": sandbox.url,
            "localhost:8025": sandbox_host,
            "…/api/v1/": f"{web}/api/v1/",
            # The reader's own endpoint: one on this machine that keeps what it receives.
            "https://example.com/hooks/notify": f"{receiver.url}/hooks/notify",
        },
    )
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    yield Reader(
        web=web, sandbox=sandbox, shell=shell, http=http, receiver=receiver, env=process_env
    )
    receiver.close()


@pytest.mark.e2e
def test_readme_examples_run_in_order_against_the_live_stack(reader: Reader) -> None:
    examples: list[Block | Inline] = [*fenced_blocks(README), *inline_requests(README)]
    ran = []
    for example in sorted(examples, key=lambda e: e.line):
        if isinstance(example, Inline):
            RUN_INLINE[example.key](reader, example)
        else:
            entries = _classified(example.key, RUN)
            if not entries:
                continue  # NOT_RUNNABLE, with its reason
            RUN[entries[0]](reader, example)
        ran.append(example.line)
    assert len(ran) == len(RUN) + len(RUN_INLINE)


# Code spans in the API table that are prose, not a route of their own.
TABLE_PROSE = {"/channels/{name}/": "in '(same for `/channels/{name}/`)': the pause row again"}


def _table_routes(text: str) -> list[tuple[str, str]]:
    """(method, path) for every route the README's API table names. `…/tail/` continues the
    cell's previous path: at the tail's first segment if that path has it (`…/devices/{id}/`),
    as a sibling for one plain segment (`…/resume/` after `…/pause/`), else appended."""
    table = text.split("| method and path | what |")[1].split("\n\n", maxsplit=1)[0]
    routes = []
    for row in table.splitlines()[2:]:
        previous, methods = "", [""]
        for span in re.findall(r"`((?:[A-Z]+(?:/[A-Z]+)* )?[/…][^`]*)`", row.split("|")[1]):
            method, _, path = span.rpartition(" ")
            methods = method.split("/") if method else methods
            path = path.split("?")[0]
            if path in TABLE_PROSE:
                continue
            if path.startswith("…"):
                tail = path[1:]
                first = "/" + tail.strip("/").split("/")[0] + "/"
                if first in previous:
                    path = previous[: previous.index(first)] + tail
                elif tail.count("/") == 2 and "{" not in tail:
                    path = previous.rstrip("/").rsplit("/", 1)[0] + tail
                else:
                    path = previous.rstrip("/") + tail
            previous = path
            routes += [(m, path) for m in methods]
    return routes


def test_every_route_in_the_readme_api_table_exists_with_its_method(db: Any) -> None:
    """/api/v1/ routes against the OpenAPI document the service serves; the others (pages,
    probes, provider webhooks) against Django's URL configuration."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    braces = re.compile(r"\{[^}]*\}|<[^>]*>")
    served = {(m.upper(), braces.sub("{}", p)) for p, ops in schema["paths"].items() for m in ops}
    routes = _table_routes(README.read_text())
    assert len(routes) >= 45
    missing = []
    for method, path in routes:
        if path.startswith("/api/"):
            if (method, braces.sub("{}", path)) not in served:
                missing.append((method, path))
            continue
        try:
            resolve(braces.sub("x", path).replace("/anymail/x/", "/anymail/postmark/"))
        except Resolver404:
            missing.append((method, path))
    assert missing == []
