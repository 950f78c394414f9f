"""Gunicorn's access log, and the request lines Django logs, never hold a usable credential
from a URL: an unsubscribe token in /u/<token>/ or a ?token= / ?signature= / ?key= value is
cut to a prefix (notify/observability/accesslog.py, notify/logs.py)."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from gunicorn.config import Config

from notify.logs import MaskPII
from notify.observability import gunicorn as config_module
from notify.observability.accesslog import MaskedLogger
from tests.harness import Proc, free_port, wait_for

# Shaped like a real unsubscribe token (Fernet, url-safe base64) and a real query secret.
TOKEN = "gAAAAABnQ2Vx" + "k7Yh3mQp9Lw2Zs8Tb4Nc6Rd1Fg5Hj0Kv" * 3
SECRET = "s3cr3t-9f8e7d6c5b4a39281706f5e4"


def test_a_running_gunicorn_logs_unsubscribe_and_query_tokens_masked(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    port, access_log = free_port(), tmp_path / "access.log"
    argv = [sys.executable, "-m", "gunicorn", "notify.wsgi:application"]
    argv += ["-c", "python:notify.observability.gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1"]
    web = Proc("web-accesslog", [*argv, "--access-logfile", str(access_log)], process_env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return requests.get(f"{base}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(up, timeout=30, what="gunicorn")
        page = requests.get(
            f"{base}/u/{TOKEN}/",
            headers={"Referer": f"{base}/u/{TOKEN}/"},
            timeout=5,
        )
        probe = requests.get(f"{base}/healthz?signature={SECRET}&page=2", timeout=5)
    finally:
        web.stop()

    assert page.status_code == 404  # not a token Notify issued: Django logs "Not Found"
    assert probe.status_code == 200
    lines = access_log.read_text()
    assert TOKEN not in lines and TOKEN[:12] not in lines
    assert SECRET not in lines
    assert f'"GET /u/{TOKEN[:4]}…/ HTTP/1.1" 404' in lines
    assert f'"{base}/u/{TOKEN[:4]}…/"' in lines  # the referer too
    assert f"/healthz?signature={SECRET[:4]}…&page=2 " in lines
    # Django's own line for the 404 goes through the same mask.
    errors = web.output()
    assert f"Not Found: /u/{TOKEN[:4]}…/" in errors
    assert TOKEN not in errors


def _access_line(
    log_format: str, *, path: str, query: str, headers: list[tuple[str, str]], log: Path
) -> str:
    """One access line, written by gunicorn's own logging to a file as --access-logfile does."""
    config = Config()
    config.set("accesslog", str(log))
    config.set("access_log_format", log_format)
    logger = MaskedLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?{query}" if query else path,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.5",
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    request = SimpleNamespace(headers=headers)
    logger.access(response, request, environ, timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.flush()
    (line,) = log.read_text().splitlines()
    return line


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (f"token={SECRET}", f"token={SECRET[:4]}…"),
        (f"key={SECRET}&x=1", f"key={SECRET[:4]}…&x=1"),
        (f"api_key={SECRET}", f"api_key={SECRET[:4]}…"),
        ("code=123456", "code=…"),  # too short for a prefix to be harmless
        ("page=2&sort=name", "page=2&sort=name"),
    ],
)
def test_the_query_atom_masks_credential_values_only(
    query: str, shown: str, tmp_path: Path
) -> None:
    line = _access_line(
        "%(U)s %(q)s", path="/api/v1/deliveries/", query=query, headers=[], log=tmp_path / "a"
    )

    assert line == f"/api/v1/deliveries/ {shown}"


def test_credential_headers_in_a_custom_format_are_never_written(tmp_path: Path) -> None:
    headers = [("AUTHORIZATION", f"Bearer nf_{SECRET}"), ("USER-AGENT", "curl/8.5")]

    line = _access_line(
        "%({authorization}i)s %({user-agent}i)s %(r)s",
        path=f"/u/{TOKEN}/",
        query="",
        headers=headers,
        log=tmp_path / "a",
    )

    assert line == f"*** curl/8.5 GET /u/{TOKEN[:4]}…/ HTTP/1.1"


def test_the_gunicorn_config_module_installs_the_masked_logger() -> None:
    config = Config()
    config.set("logger_class", config_module.logger_class)

    assert config.logger_class is MaskedLogger


def test_log_records_mentioning_a_token_url_are_masked() -> None:
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/u/{TOKEN}/",), None
    )
    MaskPII().filter(record)

    assert record.getMessage() == f"Not Found: /u/{TOKEN[:4]}…/"
