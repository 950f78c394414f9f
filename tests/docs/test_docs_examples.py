"""Every example in docs/*.md is run or checked against the real thing it shows, read out of
the page (never copied here): sandbox commands and curl calls run, documented JSON shapes
compared with what the service answers, settings named in `.env` examples exist. A block no
test can run is listed in NOT_RUNNABLE with the reason, so a new example fails here until it
is checked or listed."""

from __future__ import annotations

import json
import os
import re
import smtplib
import sys
from collections.abc import Callable
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from django.conf import settings

from notify.sandbox.__main__ import parse_args
from tests.conftest import Stack
from tests.docs.examples import ROOT, Block, Shell, fenced_blocks, json_keys, shell_commands
from tests.harness import Proc, Sandbox, free_port, wait_for

PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCKER = "needs Docker and Compose, which the test machine does not have; the image's commands are those the stack fixture runs"
NOT_RUNNABLE = {
    (
        "docs/architecture.md",
        "client ─POST /api/v1/notifications/─▶",
    ): "a diagram of the data path, not a command",
    ("docs/benchmark.md", "make bench"): "a 70-minute benchmark run; CI runs `make bench-smoke`",
    (
        "docs/benchmark.md",
        "DATABASE_URL=postgres://…/a_db_of_yours REDIS_URL=redis://…/a_db_of_yours SECRET_KEY=x \\",
    ): "a measurement over a database of the reader's (a template: `…`); it starts its own workers and stand-ins",
    ("docs/deployment.md", "docker compose up -d --build"): DOCKER,
    ("docs/deployment.md", "# docker-compose.override.yml"): DOCKER,
    ("docs/deployment.md", "docker compose up -d web"): DOCKER,
    ("docs/deployment.md", "docker compose up -d --scale"): DOCKER,
    (
        "docs/deployment.md",
        "location / {",
    ): "an nginx configuration; tests/security checks the proxy headers it sets",
    (
        "docs/sandbox.md",
        "EMAIL_HOST=127.0.0.1",
    ): "a command-line template (`...`); tests/settings.py gives every process the suite starts these variables",
    (
        "docs/sandbox.md",
        ".venv/bin/python -m pytest tests/sandbox",
    ): "runs a test suite; `make test` runs tests/sandbox",
    (
        "docs/operations.md",
        '{"level": "INFO", "logger": "notify.events"',
    ): "needs a worker started with LOG_FORMAT=json; tests/observability/test_logs.py checks such a line",
}
Step = Callable[[Any, Block], None]


def _entries(page: str, key: str, table: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    return [
        (p, e)
        for p, e in table
        if p == page and (key == e or (key.startswith(e) and not key[len(e)].isalnum()))
    ]


def env_names_exist(_: Any, block: Block) -> None:
    """Every variable a `.env` example sets is one the settings, Compose or the image read."""
    readers = [
        *(ROOT / "notify" / "settings").glob("*.py"),
        ROOT / "docker-compose.yml",
        *(ROOT / "docker").rglob("*"),
    ]
    known = "\n".join(p.read_text(errors="replace") for p in readers if p.is_file())
    known += " ".join(settings.ANYMAIL)  # read under names built in a loop (MAILGUN_API_URL)
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", block.text, re.M)
    assert names
    assert [n for n in names if n not in known] == []


def sandbox_commands_start(ctx: Any, block: Block) -> None:
    """Each command as written (plus free ports) starts a sandbox doing what its comment says."""
    for command in shell_commands(block.text):
        argv = command.argv
        assert argv[:3] == ["python", "-m", "notify.sandbox"], argv
        config = parse_args(argv[3:])
        if len(argv) == 3:  # "HTTP on 127.0.0.1:8025, SMTP on 127.0.0.1:2525"
            assert (config.host, config.http_port, config.smtp_port) == ("127.0.0.1", 8025, 2525)
        http, smtp = free_port(), free_port()
        ports = ["--http-port", str(http), "--smtp-port", str(smtp)]
        proc = Proc(
            f"sandbox-{http}", [sys.executable, *argv[1:], *ports], dict(os.environ), ctx["tmp"]
        )
        url = f"http://127.0.0.1:{http}"
        try:
            wait_for(partial(_up, url), timeout=20, what=command.source)
            latency = requests.get(f"{url}/_sandbox/config", timeout=5).json()["latency_ms"]
            assert latency == config.latency_ms == (150 if "--latency-ms" in argv else 0)
            postmark = requests.post(f"{url}/email", json={}, timeout=5).status_code
            assert (postmark == 404) == ("--only" in argv), (
                postmark
            )  # "Postmark and FCM routes off"
            assert requests.get(f"{url}/", timeout=5).status_code == 200  # "UI stay on"
        finally:
            proc.stop()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/_sandbox/health", timeout=1).ok
    except requests.RequestException:
        return False


def record_shape(ctx: Any, block: Block) -> None:
    """The documented record is the one the sandbox keeps for a message sent over SMTP."""
    sandbox: Sandbox = ctx["sandbox"]
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hi"
    message.set_content("Hello")
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    (record,) = sandbox.messages(provider="smtp")
    assert json_keys(block.text) == set(record)


def sandbox_curls(ctx: Any, block: Block) -> None:
    sandbox: Sandbox = ctx["sandbox"]
    shell = Shell(ctx["tmp"], {"localhost:8025": sandbox.url.removeprefix("http://")})
    (fault, listed) = shell.run_block(block)
    assert fault[1] is not None and fault[1].status == 201, fault
    rule = fault[1].json()
    assert {k: rule[k] for k in ("provider", "kind", "times", "retry_after")} == {
        "provider": "twilio",
        "kind": "http_429",
        "times": 3,
        "retry_after": 2,
    }
    assert listed[1] is not None and listed[1].status == 200
    assert set(listed[1].json()) == {"count", "messages"}


def fault_rule_fields(ctx: Any, block: Block) -> None:
    """Every field of the documented rule is accepted and stored."""
    sandbox: Sandbox = ctx["sandbox"]
    rule: dict[str, Any] = {
        "provider": "smtp",
        "kind": "slow",
        "times": 1,
        "match_to": "b@example.com",
        "retry_after": 2,
        "delay_ms": 10,
    }
    assert set(rule) == json_keys(block.text)
    stored = requests.post(f"{sandbox.url}/_sandbox/faults", json=rule, timeout=5)
    assert stored.status_code == 201, stored.text
    assert {k: stored.json()[k] for k in rule} == rule


def scrape_config(ctx: Any, block: Block) -> None:
    (job,) = yaml.safe_load(block.text)["scrape_configs"]
    assert 'job="notify"' in (ROOT / "docs" / "ops" / "alerts.yml").read_text()
    assert job["job_name"] == "notify"
    metrics = requests.get(ctx["web"] + job["metrics_path"], timeout=15)
    assert metrics.status_code == 200 and "notify_notifications_accepted_total" in metrics.text


def readyz_answer(ctx: Any, block: Block) -> None:
    response = requests.get(f"{ctx['web']}/readyz", timeout=15)
    assert (response.status_code, response.json()) == (200, json.loads(block.text))


RUN: dict[tuple[str, str], Step] = {
    ("docs/deployment.md", "# .env"): env_names_exist,
    ("docs/sandbox.md", "python -m notify.sandbox"): sandbox_commands_start,
    ("docs/sandbox.md", '{"id": 12'): record_shape,
    ("docs/sandbox.md", "curl -X POST localhost:8025/_sandbox/faults"): sandbox_curls,
    ("docs/sandbox.md", '{"provider": "smtp" | "postmark"'): fault_rule_fields,
    ("docs/operations.md", "scrape_configs:"): scrape_config,
    ("docs/operations.md", '{"status": "ok"'): readyz_answer,
}


def _blocks() -> list[Block]:
    return [b for page in PAGES for b in fenced_blocks(page)]


def test_every_docs_example_is_run_or_listed_with_a_reason() -> None:
    blocks = _blocks()
    assert len(blocks) >= 15
    for block in blocks:
        found = _entries(block.path, block.key, RUN) + _entries(block.path, block.key, NOT_RUNNABLE)
        assert len(found) == 1, (
            f"{block.path}:{block.line} ({block.key[:60]!r}): run it or list it with a reason; matches {found}"
        )
    for page, entry in [*RUN, *NOT_RUNNABLE]:
        assert any(_entries(b.path, b.key, {(page, entry): 0}) for b in blocks), (
            f"no block {entry!r} in {page}"
        )


@pytest.mark.e2e
def test_docs_examples_against_the_live_stack(
    django_db_setup: Any,  # first, so the live server stops before the test database goes
    live_server: Any,
    stack: Stack,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    ctx = {
        "web": live_server.url.replace("localhost", "127.0.0.1"),
        "sandbox": sandbox,
        "tmp": tmp_path,
    }
    ran = 0
    for block in _blocks():
        for entry in _entries(block.path, block.key, RUN):
            RUN[entry](ctx, block)
            ran += 1
    assert ran >= len(RUN)
