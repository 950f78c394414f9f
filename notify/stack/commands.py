"""The launcher's subcommands: run, env, test, services, stop."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from notify.stack.banner import Urls, banner
from notify.stack.bootstrap import (
    FLOWER_SECRET_FILE,
    LOAD_TEMPLATES_FLAG,
    apply_defaults,
    env_flag,
    flower_credentials,
    load_dotenv,
    prepare_django,
    secret_file,
)
from notify.stack.console import Console
from notify.stack.embedded_postgres import EmbeddedPostgres
from notify.stack.embedded_redis import EmbeddedRedis, throwaway_redis
from notify.stack.processes import (
    FLOWER_PORT,
    SANDBOX_HTTP_PORT,
    SANDBOX_SMTP_PORT,
    URGENT_WORKER_DEFAULT,
    URGENT_WORKER_FLAG,
    listening,
    process_specs,
    workers_summary,
)
from notify.stack.resolve import mask, resolve, running
from notify.stack.supervisor import ProcessSpec, Supervisor

ROOT = Path(__file__).resolve().parents[2]
# Embedded databases, generated secrets, static files. Overridable so that tests, or two
# checkouts sharing a machine, can keep separate state.
DATA = Path(os.environ.get("NOTIFY_DATA_DIR") or ROOT / ".data").resolve()
NO_TESTS_COLLECTED = 5  # pytest's exit status
# The browser tests (tests/browser) drive Debian's Chromium, never a browser Playwright
# downloads; tests/browser/conftest.py reads the same path and NOTIFY_BROWSER_UNAVAILABLE.
CHROMIUM = Path("/usr/bin/chromium")
# fonts-liberation is the one recommendation worth having (legible screenshots); the rest
# (GL drivers, printing, udev...) would triple the install.
BROWSER_PACKAGES = ["chromium", "fonts-liberation"]
BROWSER_INSTALL_TIMEOUT = 600.0  # seconds, update and install together
# How a run names the Redis its tests use (read by tests/settings.py).
TEST_REDIS_URL = "NOTIFY_TEST_REDIS_URL"
TEST_REDIS_DB = "NOTIFY_TEST_REDIS_DB"


def run() -> int:
    console = Console()
    env = _base_env(console)
    web_port = int(env.get("PORT", "8000"))
    try:
        urgent_worker = env_flag(env, URGENT_WORKER_FLAG, default=URGENT_WORKER_DEFAULT)
        load_templates = env_flag(env, LOAD_TEMPLATES_FLAG)
    except ValueError as exc:
        console.say(str(exc))
        return 1
    ports = (web_port, FLOWER_PORT, SANDBOX_HTTP_PORT, SANDBOX_SMTP_PORT)
    # A taken port would make a child die after a confusing retry loop; say it up front.
    taken = [port for port in ports if listening(port)]
    if taken:
        console.say(f"port(s) {', '.join(map(str, taken))} already in use on 127.0.0.1; stop")
        console.say("whatever holds them (an earlier `make run`?) or set PORT for the web server")
        return 1
    web_url = f"http://127.0.0.1:{web_port}"
    flower_user, flower_password = flower_credentials(env, DATA)
    if "," in f"{flower_user}{flower_password}":
        # Flower splits its basic-auth option on commas (user:pass,user:pass).
        console.say("FLOWER_USER / FLOWER_PASSWORD must not contain a comma")
        return 1
    with running(env, DATA, console.say) as services:
        env.update(services.env())
        apply_defaults(env, DATA, web_url=web_url)
        # Links on the landing page at / (notify/landing.py).
        env.setdefault("NOTIFY_SANDBOX_URL", f"http://127.0.0.1:{SANDBOX_HTTP_PORT}/")
        env.setdefault("NOTIFY_FLOWER_URL", f"http://127.0.0.1:{FLOWER_PORT}/")
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(DATA / "prometheus"))
        try:
            prepared = prepare_django(ROOT, env, DATA, console, load_templates=load_templates)
        except subprocess.CalledProcessError as exc:
            console.say(f"`{shlex.join(exc.cmd[1:3])}` failed with status {exc.returncode}")
            return 1
        urls = Urls(
            web=web_url,
            flower=f"http://127.0.0.1:{FLOWER_PORT}",
            sandbox=f"http://127.0.0.1:{SANDBOX_HTTP_PORT}",
        )
        text = banner(
            urls,
            admin_password=prepared.admin_password,
            flower_user=flower_user,
            flower_password_at=flower_source(env, DATA),
            public_url=env["NOTIFY_PUBLIC_URL"],
            api_key=prepared.api_key,
            database_url=services.database_url,
            redis_url=services.redis_url,
            workers=workers_summary(urgent_worker=urgent_worker),
            templates=prepared.templates,
        )
        supervisor = Supervisor(
            stack_processes(
                web_port, flower_password, urgent_worker=urgent_worker, flower_user=flower_user
            ),
            env=env,
            cwd=ROOT,
            console=console,
            watch=services.dead,
        )
        return supervisor.run(on_ready=lambda: console.write(text))


def stack_processes(
    web_port: int,
    flower_password: str,
    *,
    urgent_worker: bool = URGENT_WORKER_DEFAULT,
    flower_user: str = "admin",
) -> list[ProcessSpec]:
    """What `run` starts, with this checkout's data directory (notify/stack/processes.py)."""
    return process_specs(
        web_port,
        flower_password,
        data_dir=DATA,
        urgent_worker=urgent_worker,
        flower_user=flower_user,
    )


def flower_source(env: Mapping[str, str], data_dir: Path) -> str:
    """Where the Flower password comes from, for the banner (which never prints it)."""
    if env.get("FLOWER_PASSWORD"):
        return "FLOWER_PASSWORD"
    path = data_dir / FLOWER_SECRET_FILE
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def metrics_dir(path: Path) -> Path:
    """An empty directory for the processes' metric files (docs/operations.md): web workers,
    Celery children and the scrape all use it, and files of an earlier run must not count."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def env_exports() -> int:
    """Print `export` lines for a shell or Make. Embedded servers started here keep running."""
    console = Console(sys.stderr)  # stdout is for `eval`
    env = _base_env(console)
    services = resolve(env, DATA, console.say)
    for key, value in services.env().items():
        print(f"export {key}={shlex.quote(value)}")
    if any(s.owned for s in services.embedded):
        console.say("embedded servers keep running; `python -m notify.stack stop` stops them")
    return 0


def test(pytest_args: Sequence[str]) -> int:
    console = Console()
    env = _base_env(console)
    with running(env, DATA, console.say) as services, ExitStack() as stop_later:
        env.update(services.env())
        # The tests flush their Redis database: on a shared server that deletes other people's
        # data. So a server of their own, unless told which to use (tests/settings.py).
        if env.get(TEST_REDIS_URL) or env.get(TEST_REDIS_DB):
            console.say(f"tests: Redis as {TEST_REDIS_URL} / {TEST_REDIS_DB} say")
        else:
            env[TEST_REDIS_URL] = stop_later.enter_context(throwaway_redis())
            console.say(f"tests: a redis-server of their own at {env[TEST_REDIS_URL]}")
        # mypy's Django plugin imports notify.settings, which needs a SECRET_KEY.
        env.setdefault("SECRET_KEY", secret_file(DATA / "secret-key", 40))
        unavailable = ensure_browser(console)
        if unavailable:
            env["NOTIFY_BROWSER_UNAVAILABLE"] = unavailable
        for argv in check_commands(ROOT):
            status = _step(console, argv, env)
            if status != 0:
                return status
        status = _step(console, [sys.executable, "-m", "pytest", *pytest_args], env)
        if status == NO_TESTS_COLLECTED:
            console.say("pytest collected no tests: treating that as a failure")
        return status


def ensure_browser(console: Console, chromium: Path = CHROMIUM) -> str:
    """Install Debian's Chromium for the browser tests if it is missing. Returns "" when the
    browser is there, else why not: the browser tests then skip with that reason, and the rest
    of the run goes on (a machine without apt or root still runs every other test)."""
    if chromium.exists():
        return ""
    if os.environ.get("NOTIFY_BROWSER_INSTALL", "1") == "0":
        reason = f"{chromium} is missing and NOTIFY_BROWSER_INSTALL=0"
    elif os.geteuid() != 0:
        reason = f"{chromium} is missing and installing it needs root (apt-get install chromium)"
    elif shutil.which("apt-get") is None:
        reason = f"{chromium} is missing and there is no apt-get to install it with"
    else:
        reason = _apt_install_browser(console, chromium)
    if reason:
        console.say(f"browser: {reason}; the browser tests will be skipped")
    return reason


def _apt_install_browser(console: Console, chromium: Path) -> str:
    console.say(f"browser: installing Debian's {' '.join(BROWSER_PACKAGES)} (about 1-2 minutes)")
    log = DATA / "browser-install.log"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=120"]
    steps = [
        [*apt, "update", "-qq"],
        [*apt, "install", "-y", "-qq", "--no-install-recommends", *BROWSER_PACKAGES],
    ]
    started = time.monotonic()
    with log.open("w") as out:
        for argv in steps:
            left = BROWSER_INSTALL_TIMEOUT - (time.monotonic() - started)
            try:
                status = subprocess.run(  # noqa: S603 - fixed argv
                    argv, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=left, check=False
                ).returncode
            except subprocess.TimeoutExpired:
                return f"`{shlex.join(argv)}` timed out after {BROWSER_INSTALL_TIMEOUT:.0f}s"
            if status != 0:
                tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                console.say(f"browser: `{shlex.join(argv)}` failed (status {status}); {log}:")
                for line in tail:
                    console.say(f"  {line}")
                return f"`{shlex.join(argv)}` failed with status {status} (see {log})"
    if not chromium.exists():
        return f"apt-get installed {' '.join(BROWSER_PACKAGES)} but {chromium} is still missing"
    console.say(f"browser: {chromium} installed in {time.monotonic() - started:.1f}s")
    return ""


def check_commands(root: Path) -> list[list[str]]:
    py = sys.executable
    commands = [[py, "-m", "ruff", "check", "."], [py, "-m", "ruff", "format", "--check", "."]]
    pyproject = root / "pyproject.toml"
    tools = tomllib.loads(pyproject.read_text()).get("tool", {}) if pyproject.is_file() else {}
    if "mypy" in tools:
        commands.append([py, "-m", "mypy", "."])
    if "importlinter" in tools:
        # The layers between packages (pyproject.toml, docs/architecture.md).
        commands.append([str(Path(py).parent / "lint-imports")])
    return commands


def services_forever() -> int:
    console = Console()
    env = _base_env(console)
    with running(env, DATA, console.say) as services:
        for key, value in services.env().items():
            console.say(f"{key}={mask(value)}")
        if not any(s.owned for s in services.embedded):
            console.say("nothing was started here, so there is nothing to keep up")
            return 0
        console.say("embedded servers are up; Ctrl-C stops them")
        while not services.dead():
            time.sleep(1)
        console.say(f"{', '.join(services.dead())} stopped unexpectedly")
        return 1


def stop() -> int:
    """Stop the embedded servers under .data, whoever started them."""
    console = Console()
    for server in (EmbeddedRedis(DATA / "redis"), EmbeddedPostgres(DATA / "postgres")):
        if server.alive():
            server.stop()
            console.say(f"stopped embedded {server.name}")
        else:
            console.say(f"embedded {server.name} is not running")
    return 0


def _base_env(console: Console) -> dict[str, str]:
    env = dict(os.environ)
    applied = load_dotenv(ROOT / ".env", env)
    if applied:
        console.say(f".env: {', '.join(applied)}")
    DATA.mkdir(parents=True, exist_ok=True)
    return env


def _step(console: Console, argv: Sequence[str], env: Mapping[str, str]) -> int:
    shown = shlex.join(["python", *argv[1:]]) if argv[0] == sys.executable else shlex.join(argv)
    console.say(f"$ {shown}")
    started = time.monotonic()
    status = subprocess.run(list(argv), cwd=ROOT, env=dict(env), check=False).returncode  # noqa: S603
    verdict = "ok" if status == 0 else f"FAILED (status {status})"
    console.say(f"{shown}: {verdict} in {time.monotonic() - started:.1f}s")
    return status
