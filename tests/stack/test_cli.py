"""The launcher as a developer or Make calls it: `python -m notify.stack ...`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import redis

from notify.stack import commands
from tests.stack.conftest import gone

ROOT = Path(__file__).resolve().parents[2]


def launcher(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notify.stack", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_env_prints_shell_exports_on_stdout_and_notes_on_stderr() -> None:
    result = launcher(
        "env", DATABASE_URL="postgres://u:p w@db/notify", REDIS_URL="redis://cache:6379/0"
    )

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "export DATABASE_URL='postgres://u:p w@db/notify'",
        "export REDIS_URL=redis://cache:6379/0",
    ]
    assert "REDIS_URL from the environment" in result.stderr


def test_an_unknown_command_is_refused() -> None:
    result = launcher("fly")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_test_fails_when_pytest_collects_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only the pytest step, pointed at an empty folder: "no tests ran" must not pass CI.
    monkeypatch.setattr(commands, "check_commands", lambda root: [])
    monkeypatch.setattr(commands, "DATA", tmp_path / "data")
    monkeypatch.setenv("DATABASE_URL", "postgres://x@db/notify")
    monkeypatch.setenv("REDIS_URL", "redis://cache/0")

    status = commands.test(["-p", "no:django", "-p", "no:cacheprovider", str(tmp_path)])

    assert status == 5
    assert "pytest collected no tests: treating that as a failure" in capsys.readouterr().out


def test_test_stops_at_the_first_failing_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = [[sys.executable, "-c", "exit(4)"], [sys.executable, "-c", "print('never')"]]
    monkeypatch.setattr(commands, "check_commands", lambda root: checks)
    monkeypatch.setattr(commands, "DATA", tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgres://x@db/notify")
    monkeypatch.setenv("REDIS_URL", "redis://cache/0")

    status = commands.test(["--collect-only"])

    out = capsys.readouterr().out
    assert status == 4
    assert "FAILED (status 4)" in out
    assert "never" not in out
    assert "pytest" not in out.split("FAILED")[1]


def test_services_keeps_embedded_servers_up_until_sigint_even_as_a_background_job(
    tmp_path: Path,
) -> None:
    # Whatever the test settings export, this launcher must find no URLs and embed both.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "notify.stack", "services"],
        cwd=ROOT,
        env={**env, "NOTIFY_EMBEDDED": "1", "NOTIFY_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
        # `cmd &` in a script starts the job with SIGINT ignored; `kill -INT` must still work.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    try:
        urls = _announced_urls(proc)
        postgres_pid = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])
        redis_pid = int((tmp_path / "redis" / "redis.pid").read_text())
        psycopg2.connect(urls["DATABASE_URL"]).close()
        assert redis.Redis.from_url(urls["REDIS_URL"]).ping() is True

        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # a failed assertion must not leave servers behind
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)

    assert proc.returncode == 130
    assert gone(postgres_pid)
    assert gone(redis_pid)


def _announced_urls(proc: subprocess.Popen[str]) -> dict[str, str]:
    assert proc.stdout is not None
    urls = {}
    for line in proc.stdout:
        if "_URL=" in line:
            key, value = line.split("| ", 1)[1].strip().split("=", 1)
            urls[key] = value
        if "Ctrl-C stops them" in line:
            break
    return urls
