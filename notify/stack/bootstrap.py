"""Environment and Django preparation for `run`: .env, provider defaults, schema, default
templates, admin, API key."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from notify.stack.console import Console

# `run` points every provider at the local sandbox, so a fresh checkout sends nothing real.
# Only defaults: anything set in the environment or .env wins.
SANDBOX_DEFAULTS = {
    "EMAIL_PROVIDER": "smtp",
    "EMAIL_HOST": "127.0.0.1",
    "EMAIL_PORT": "2525",
    "TWILIO_BASE_URL": "http://127.0.0.1:8025",
    "FCM_BASE_URL": "http://127.0.0.1:8025",
}

# Sandbox-only credentials: the sandbox accepts any, but the channels refuse to send without
# some. Applied only while the provider's base URL is the sandbox's, so they never reach a
# real provider. TWILIO_AUTH_TOKEN also verifies Twilio's callbacks, so it is a stored
# random one (WEBHOOK_SECRET_FILES), never a value anyone could read here.
SANDBOX_CREDENTIALS = {
    "TWILIO_BASE_URL": {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_FROM": "+15005550006",
    },
    "FCM_BASE_URL": {"FCM_PROJECT_ID": "notify-sandbox"},
}

# Webhook secrets kept in the data directory, so callbacks stay verifiable across restarts:
# without them the webhook routes answer 404 (notify/webhooks). An empty value counts as unset.
WEBHOOK_SECRET_FILES = {
    "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "ANYMAIL_WEBHOOK_SECRET": "anymail-webhook-secret",
}

# Set to 0 to start without loading templates/notify/defaults/ (e.g. to try the API on an
# empty template list). Otherwise the files are loaded on every start, which changes nothing
# when nothing changed, so a restart stays fast and creates no versions.
LOAD_TEMPLATES_FLAG = "NOTIFY_LOAD_DEFAULT_TEMPLATES"
# Under the data directory, like admin-password and secret-key; the banner names the file.
FLOWER_SECRET_FILE = "flower-password"  # noqa: S105 - a file name
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

# One Django start-up for two jobs. get_or_create + set_password, rather than
# `createsuperuser`, so a second run (or a changed ADMIN_PASSWORD) converges instead of failing
# on "username already taken". The stored demo key is checked against *this* database: it goes
# stale when the database changes (embedded vs local) or is wiped.
_ENSURE_ADMIN_AND_CHECK_KEY = """
import os
from django.contrib.auth import get_user_model
User = get_user_model()
user, _ = User.objects.get_or_create(**{User.USERNAME_FIELD: "admin"})
user.is_staff = user.is_superuser = True
user.set_password(os.environ["NOTIFY_ADMIN_PASSWORD"])
user.save()
raw = os.environ.get("NOTIFY_DEMO_KEY", "")
if raw:
    from notify.services.access.apikeys import api_key_authenticate
    print("demo-key:", "valid" if api_key_authenticate(raw=raw) else "stale")
"""


@dataclass(frozen=True)
class Prepared:
    admin_password: str
    api_key: str | None  # None when it could not be created; the banner says so
    templates: tuple[str, ...] = ()  # default template keys in the database


def env_flag(env: Mapping[str, str], name: str, default: bool = True) -> bool:
    """A 1/0 switch; unset or empty means `default`. A typo raises ValueError rather than
    silently meaning one or the other."""
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ValueError(f"{name}={env[name]!r}: use 1 or 0")


def load_dotenv(path: Path, env: MutableMapping[str, str]) -> list[str]:
    """Apply KEY=VALUE lines from `path` to `env` where not already set; returns keys applied."""
    if not path.is_file():
        return []
    applied = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key and key not in env:
            env[key] = value
            applied.append(key)
    return applied


def secret_file(path: Path, length: int = 18) -> str:
    """A random secret kept in `path`, so it is the same on every run."""
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(length)
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value


def apply_defaults(env: MutableMapping[str, str], data_dir: Path, *, web_url: str = "") -> None:
    """Sandbox providers, a stored SECRET_KEY and webhook secrets and, given `web_url`,
    NOTIFY_PUBLIC_URL set to it, so unsubscribe links, the List-Unsubscribe header and tracked
    links work locally. An empty NOTIFY_PUBLIC_URL counts as unset (.env.example's line,
    uncommented, is empty); any other value is the operator's and wins."""
    if web_url and not env.get("NOTIFY_PUBLIC_URL"):
        env["NOTIFY_PUBLIC_URL"] = web_url
    for key, value in SANDBOX_DEFAULTS.items():
        env.setdefault(key, value)
    for url_key, credentials in SANDBOX_CREDENTIALS.items():
        if env[url_key] == SANDBOX_DEFAULTS[url_key]:
            for key, value in credentials.items():
                env.setdefault(key, value)
    if env["TWILIO_BASE_URL"] == SANDBOX_DEFAULTS["TWILIO_BASE_URL"] and not env.get(
        "TWILIO_AUTH_TOKEN"
    ):
        env["TWILIO_AUTH_TOKEN"] = secret_file(data_dir / WEBHOOK_SECRET_FILES["TWILIO_AUTH_TOKEN"])
    if not env.get("ANYMAIL_WEBHOOK_SECRET"):
        # user:password, as ESPs put it in the webhook URL.
        path = data_dir / WEBHOOK_SECRET_FILES["ANYMAIL_WEBHOOK_SECRET"]
        env["ANYMAIL_WEBHOOK_SECRET"] = f"notify:{secret_file(path)}"
    # Settings refuse to start without SECRET_KEY unless DEBUG; a stored one keeps admin
    # sessions valid across restarts. mypy's Django plugin imports settings too.
    env.setdefault("SECRET_KEY", secret_file(data_dir / "secret-key", 40))


def flower_credentials(env: Mapping[str, str], data_dir: Path) -> tuple[str, str]:
    """Flower's user and password: FLOWER_USER / FLOWER_PASSWORD (as docker-compose.yml reads
    them), else `admin` and a password of Flower's own kept in data_dir, never the admin's:
    whoever learns one must not get the other."""
    user = env.get("FLOWER_USER") or "admin"
    password = env.get("FLOWER_PASSWORD") or secret_file(data_dir / FLOWER_SECRET_FILE, 12)
    return user, password


def prepare_django(
    root: Path,
    env: MutableMapping[str, str],
    data_dir: Path,
    console: Console,
    *,
    load_templates: bool = True,
) -> Prepared:
    """migrate, default templates, collectstatic, the admin user and the demo API key.
    Raises on a failed step, except the optional ones (templates, API key)."""
    console.say("migrate")
    _manage(root, env, "migrate", "--noinput")
    if load_templates:
        templates = load_default_templates(root, env, console)
    else:
        console.say(f"default templates not loaded ({LOAD_TEMPLATES_FLAG}=0)")
        templates = ()
    console.say("collectstatic")
    _manage(root, env, "collectstatic", "--noinput", "-v", "0")
    password = env.get("ADMIN_PASSWORD") or secret_file(data_dir / "admin-password", 12)
    key_file = data_dir / "demo-api-key"
    stored = key_file.read_text().strip() if key_file.is_file() else ""
    console.say("ensuring superuser admin")
    checked = _manage(
        root,
        {**env, "NOTIFY_ADMIN_PASSWORD": password, "NOTIFY_DEMO_KEY": stored},
        *("shell", "--no-imports", "-c", _ENSURE_ADMIN_AND_CHECK_KEY),
        capture=True,
    )
    if stored and "demo-key: valid" in checked:
        return Prepared(password, stored, templates)
    return Prepared(password, create_demo_api_key(root, env, key_file, console), templates)


def load_default_templates(
    root: Path, env: MutableMapping[str, str], console: Console
) -> tuple[str, ...]:
    """`load_templates`, so a fresh database can send `"template": "password-reset"` at once.
    Returns the template keys it covers, () if it failed. Safe on every start: unchanged
    files create no version, and a template edited in the database is kept (and named).
    A failure costs only the defaults, so it is reported and the start goes on."""
    console.say("load_templates (default templates)")
    try:
        out = _manage(root, env, "load_templates", capture=True)
    except subprocess.CalledProcessError as exc:
        # The reason (e.g. which file is invalid) went to stderr, above.
        console.say(f"load_templates failed (status {exc.returncode}); continuing without them")
        return ()
    for line in out.splitlines():
        if line.strip():
            console.say(f"  {line.strip()}")
    return tuple(sorted(p.name for p in default_templates_dir(root).iterdir() if p.is_dir()))


def default_templates_dir(root: Path) -> Path:
    # Where load_templates reads by default (notify/services/content/template_files.py); it is not
    # imported from there because that needs Django set up.
    return root / "templates" / "notify" / "defaults"


def create_demo_api_key(
    root: Path, env: MutableMapping[str, str], key_file: Path, console: Console
) -> str | None:
    """`create_api_key demo`; the raw key (its last output line) is kept in `key_file`, since
    the database only has its hash."""
    console.say("creating the demo API key")
    try:
        out = _manage(root, env, "create_api_key", "demo", capture=True)
    except subprocess.CalledProcessError as exc:
        console.say(f"create_api_key failed (status {exc.returncode}); continuing without a key")
        return None
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        console.say("create_api_key printed nothing; continuing without a key")
        return None
    key_file.touch(mode=0o600)
    key_file.write_text(lines[-1] + "\n")
    return lines[-1]


def _manage(root: Path, env: MutableMapping[str, str], *args: str, capture: bool = False) -> str:
    argv = [sys.executable, str(root / "manage.py"), *args]
    result = subprocess.run(  # noqa: S603 - fixed argv
        argv,
        cwd=root,
        env=dict(env),
        check=True,
        stdout=subprocess.PIPE if capture else None,
        text=True,
    )
    return result.stdout or ""
