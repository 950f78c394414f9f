"""Fixtures for the browser tests: Debian's Chromium (/usr/bin/chromium, which `make test`
installs with apt-get; never a browser Playwright downloads) driven by Playwright's sync API,
a fresh profile each time. Screenshots go to tests/browser/artifacts/ and are listed at the
end of the run; a failing test leaves a screenshot of the page it failed on."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# What this machine needs: no GPU, and no background traffic to Google's hosts, which a
# closed network refuses (dozens of failed connections at every start otherwise).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000  # any single Playwright action, navigation or expect()
_SHOTS = pytest.StashKey[list[Path]]()


def browser_unavailable() -> str:
    """Why the browser tests cannot run here, or "" if they can."""
    reason = os.environ.get("NOTIFY_BROWSER_UNAVAILABLE", "")
    if reason:
        return reason  # the install step of `python -m notify.stack test` said why
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian's chromium package; `make test` installs it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (requirements-dev.txt)"
    return ""


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is not None:
        reason = browser_unavailable()
        if reason:
            pytest.skip(f"browser test skipped: {reason}")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    shots = config.stash.get(_SHOTS, [])
    if shots:
        terminalreporter.write_sep("-", "browser screenshots")
        for path in shots:
            terminalreporter.write_line(str(path))


class Screenshots:
    """Saves full-page screenshots as artifacts/<test name>-<step>.png."""

    def __init__(self, config: pytest.Config, test_name: str) -> None:
        self.config, self.prefix = config, test_name

    def take(self, page: Any, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.config.stash.setdefault(_SHOTS, []).append(path)
        print(f"screenshot: {path}")  # in the test's captured output too
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    name = request.node.name.replace("/", "_")
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()  # nothing stale from an earlier run passes for this one's
    return Screenshots(request.config, name)


class Chromium:
    """Opens pages in Debian's Chromium with a fresh profile each time.

    Used as `with chromium.page() as page:` once the test has written its rows: while
    Playwright's sync API is active its event loop runs in this thread, and Django refuses
    ORM calls from there (SynchronousOnlyOperation). The browser is closed however the block
    ends; an exception inside it first gets a screenshot of where the page stood."""

    def __init__(self, profiles: Path, screenshots: Screenshots) -> None:
        self.profiles, self.screenshots = profiles, screenshots

    @contextmanager
    def page(self) -> Iterator[Any]:
        from playwright.sync_api import expect, sync_playwright

        expect.set_options(timeout=TIMEOUT_MS)  # its own default is 5 s

        profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=self.profiles))
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    str(profile),
                    executable_path=str(CHROMIUM),
                    headless=True,
                    args=CHROMIUM_FLAGS,
                    viewport={"width": 1600, "height": 1000},
                    timeout=30_000,  # launching
                )
                try:
                    context.set_default_timeout(TIMEOUT_MS)
                    context.set_default_navigation_timeout(TIMEOUT_MS)
                    page = context.new_page()
                    try:
                        yield page
                    except BaseException:
                        self._failure_screenshot(page)
                        raise
                finally:
                    context.close()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    def _failure_screenshot(self, page: Any) -> None:
        try:
            self.screenshots.take(page, "FAILED")
        except Exception as exc:  # the browser may be what broke; keep the real error
            print(f"no failure screenshot: {exc}")


@pytest.fixture
def chromium(tmp_path: Path, screenshots: Screenshots) -> Chromium:
    return Chromium(tmp_path, screenshots)
