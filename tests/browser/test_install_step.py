"""The browser install step of `python -m notify.stack test`: when it installs, and what it
says when it cannot (the browser tests then skip with that reason). A fake apt-get on PATH
stands in for Debian's; no package is installed here."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from notify.stack import commands
from notify.stack.console import Console


def _fake_apt(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(f"#!/bin/sh\n{script}\n")
    apt.chmod(apt.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(out, color=False), out


@pytest.fixture(autouse=True)
def _as_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(commands, "DATA", tmp_path)
    monkeypatch.delenv("NOTIFY_BROWSER_INSTALL", raising=False)


def test_a_present_browser_needs_nothing(
    tmp_path: Path, console: tuple[Console, io.StringIO]
) -> None:
    chromium = tmp_path / "chromium"
    chromium.touch()
    assert commands.ensure_browser(console[0], chromium) == ""
    assert console[1].getvalue() == ""


def test_it_installs_with_apt_get_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, console: tuple[Console, io.StringIO]
) -> None:
    chromium = tmp_path / "chromium"
    calls = tmp_path / "calls"
    # "install" creates the browser, as the real package would (shell built-ins only: the
    # run may have a PATH with nothing else on it).
    _fake_apt(
        tmp_path / "bin", f'echo "$@" >> {calls}; case "$*" in *install*) : > {chromium};; esac'
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    assert commands.ensure_browser(console[0], chromium) == ""

    lines = calls.read_text().splitlines()
    assert [line.split()[2] for line in lines] == ["update", "install"]
    assert "-y -qq --no-install-recommends chromium fonts-liberation" in lines[1]
    assert "installed in" in console[1].getvalue()


def test_a_failed_install_says_why_and_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, console: tuple[Console, io.StringIO]
) -> None:
    _fake_apt(tmp_path / "bin", 'echo "E: Unable to locate package chromium"; exit 100')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    reason = commands.ensure_browser(console[0], tmp_path / "chromium")

    assert "failed with status 100" in reason
    said = console[1].getvalue()
    assert "E: Unable to locate package chromium" in said
    assert "the browser tests will be skipped" in said


def test_without_root_it_skips_instead_of_installing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, console: tuple[Console, io.StringIO]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    reason = commands.ensure_browser(console[0], tmp_path / "chromium")
    assert "needs root" in reason
    assert "the browser tests will be skipped" in console[1].getvalue()


def test_without_apt_get_it_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, console: tuple[Console, io.StringIO]
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert "no apt-get" in commands.ensure_browser(console[0], tmp_path / "chromium")
