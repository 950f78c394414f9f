from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from notify.stack.banner import DEMO_NOTIFICATION, TEMPLATE_EXAMPLE, Urls, banner
from notify.stack.bootstrap import (
    SANDBOX_DEFAULTS,
    apply_defaults,
    flower_credentials,
    load_dotenv,
    secret_file,
)
from notify.stack.commands import check_commands


def test_dotenv_fills_gaps_but_the_real_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n\nDEBUG=1\nexport SECRET_KEY='quoted value'\nREDIS_URL=redis://dotenv/0\n"
        'EMPTY=\nURL="postgres://u:p@h/db?x=1"\nnot a pair\n'
    )
    env = {"REDIS_URL": "redis://real/0"}

    applied = load_dotenv(dotenv, env)

    assert env == {
        "REDIS_URL": "redis://real/0",
        "DEBUG": "1",
        "SECRET_KEY": "quoted value",
        "EMPTY": "",
        "URL": "postgres://u:p@h/db?x=1",
    }
    assert applied == ["DEBUG", "SECRET_KEY", "EMPTY", "URL"]


def test_a_missing_dotenv_changes_nothing(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    assert load_dotenv(tmp_path / ".env", env) == []
    assert env == {}


def test_secrets_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "admin-password"

    first = secret_file(path)

    assert len(first) >= 16
    assert secret_file(path) == first
    assert path.stat().st_mode & 0o077 == 0


def test_sandbox_defaults_do_not_override_explicit_settings(tmp_path: Path) -> None:
    env = {"EMAIL_PROVIDER": "postmark", "SECRET_KEY": "mine"}

    apply_defaults(env, tmp_path)

    assert env["EMAIL_PROVIDER"] == "postmark"
    assert env["SECRET_KEY"] == "mine"
    assert env["EMAIL_PORT"] == SANDBOX_DEFAULTS["EMAIL_PORT"] == "2525"
    assert env["TWILIO_BASE_URL"] == env["FCM_BASE_URL"] == "http://127.0.0.1:8025"


def test_run_points_the_public_url_at_its_own_web_server(tmp_path: Path) -> None:
    env: dict[str, str] = {}

    apply_defaults(env, tmp_path, web_url="http://127.0.0.1:8000")

    # Unsubscribe links and the List-Unsubscribe header are built from it; empty means none.
    assert env["NOTIFY_PUBLIC_URL"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("https://notify.example.com", "https://notify.example.com"), ("", "http://127.0.0.1:8000")],
)
def test_an_operators_public_url_wins_and_an_empty_one_counts_as_unset(
    tmp_path: Path, given: str, expected: str
) -> None:
    env = {"NOTIFY_PUBLIC_URL": given}

    apply_defaults(env, tmp_path, web_url="http://127.0.0.1:8000")

    assert env["NOTIFY_PUBLIC_URL"] == expected


def test_flower_gets_a_password_of_its_own_kept_in_the_data_dir(tmp_path: Path) -> None:
    admin = secret_file(tmp_path / "admin-password", 12)

    user, password = flower_credentials({}, tmp_path)

    assert user == "admin"
    assert password != admin and len(password) >= 16
    assert (tmp_path / "flower-password").read_text().strip() == password
    assert (tmp_path / "flower-password").stat().st_mode & 0o077 == 0
    assert flower_credentials({}, tmp_path) == (user, password)  # the same on every run
    explicit = {"FLOWER_USER": "ops", "FLOWER_PASSWORD": "from-env"}
    assert flower_credentials(explicit, tmp_path) == ("ops", "from-env")


def test_mypy_runs_only_when_configured(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert [argv[2] for argv in check_commands(tmp_path)] == ["ruff", "ruff"]

    (tmp_path / "pyproject.toml").write_text("[tool.mypy]\nstrict = true\n")
    assert [argv[2] for argv in check_commands(tmp_path)] == ["ruff", "ruff", "mypy"]


def test_import_contracts_are_checked_only_when_configured(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.importlinter]\nroot_packages = ['x']\n")
    *ruff, contracts = check_commands(tmp_path)
    assert [argv[2] for argv in ruff] == ["ruff", "ruff"]
    assert Path(contracts[0]).name == "lint-imports" and Path(contracts[0]).is_file()


def test_the_banner_shows_where_everything_is_and_a_working_curl() -> None:
    text = banner(
        Urls("http://127.0.0.1:8000", "http://127.0.0.1:5555", "http://127.0.0.1:8025"),
        admin_password="pw123",
        api_key="ntf_abc_def",
        database_url="postgres://u:secret@h/db",
        redis_url="redis://127.0.0.1:6379/0",
    )

    for expected in (
        "http://127.0.0.1:8000/api/v1/",
        "http://127.0.0.1:8000/api/docs/",
        "http://127.0.0.1:8000/admin/   user admin, password pw123",
        "http://127.0.0.1:8000/admin/dashboard/",
        "http://127.0.0.1:8025/",
        "ntf_abc_def",
        "postgres://u:***@h/db",
    ):
        assert expected in text
    curl = text[text.index("curl") : text.index("Then watch")].replace("\\\n", " ")
    argv = shlex.split(curl)
    assert argv[argv.index("-X") + 1] == "POST"
    assert "http://127.0.0.1:8000/api/v1/notifications/" in argv
    assert "Authorization: Bearer ntf_abc_def" in argv
    assert json.loads(argv[argv.index("-d") + 1]) == DEMO_NOTIFICATION
    assert set(DEMO_NOTIFICATION["content"]) == {"email", "sms", "push"}


def test_the_banner_names_the_workers_and_how_to_use_a_default_template() -> None:
    urls = Urls("http://127.0.0.1:8000", "http://127.0.0.1:5555", "http://127.0.0.1:8025")
    common: dict[str, Any] = {
        "admin_password": "pw",
        "api_key": "ntf_abc_def",
        "database_url": "postgres://u@h/db",
        "redis_url": "redis://127.0.0.1:6379/0",
    }

    text = banner(
        urls,
        **common,
        workers="celery@box (every queue), urgent@box (urgent queue only)",
        templates=("login-alert", "password-reset", "welcome"),
    )

    assert "  Workers   celery@box (every queue), urgent@box (urgent queue only)\n" in text
    assert "  Templates login-alert, password-reset, welcome\n" in text
    example = text.split('instead of "content":\n', 1)[1].splitlines()[0]
    assert json.loads("{" + example + "}") == TEMPLATE_EXAMPLE
    # Nothing loaded (NOTIFY_LOAD_DEFAULT_TEMPLATES=0): no row, no example.
    assert "Templates" not in banner(urls, **common) and "template" not in banner(urls, **common)


def test_the_banner_says_where_links_point_and_where_flowers_password_is() -> None:
    urls = Urls("http://127.0.0.1:8000", "http://127.0.0.1:5555", "http://127.0.0.1:8025")

    text = banner(
        urls,
        admin_password="admin-pw",
        api_key=None,
        flower_password_at=".data/flower-password",
        public_url="http://127.0.0.1:8000",
        database_url="postgres://u@h/db",
        redis_url="redis://127.0.0.1:6379/0",
    )

    assert "  Notify is up: http://127.0.0.1:8000/\n" in text
    assert "http://127.0.0.1:5555/   user admin, password in .data/flower-password\n" in text
    assert "  Links     http://127.0.0.1:8000/   (NOTIFY_PUBLIC_URL: unsubscribe" in text
    # The admin's password is printed for the admin only, never as Flower's.
    assert text.count("admin-pw") == 1


def test_run_keeps_random_webhook_secrets_so_its_callbacks_verify(tmp_path: Path) -> None:
    first: dict[str, str] = {}
    apply_defaults(first, tmp_path)
    again: dict[str, str] = {}
    apply_defaults(again, tmp_path)

    user, _, password = first["ANYMAIL_WEBHOOK_SECRET"].partition(":")
    assert user and len(password) >= 16
    assert len(first["TWILIO_AUTH_TOKEN"]) >= 16
    assert first["TWILIO_AUTH_TOKEN"] != "sandbox-auth-token"
    for key in ("ANYMAIL_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN"):
        assert again[key] == first[key]
    other: dict[str, str] = {}
    apply_defaults(other, tmp_path / "elsewhere")
    assert other["TWILIO_AUTH_TOKEN"] != first["TWILIO_AUTH_TOKEN"]


def test_webhook_secrets_given_by_the_operator_win(tmp_path: Path) -> None:
    env = {"ANYMAIL_WEBHOOK_SECRET": "hooks:mine", "TWILIO_AUTH_TOKEN": "real-token"}

    apply_defaults(env, tmp_path)

    assert env["ANYMAIL_WEBHOOK_SECRET"] == "hooks:mine"
    assert env["TWILIO_AUTH_TOKEN"] == "real-token"


def test_a_real_twilio_gets_no_made_up_auth_token(tmp_path: Path) -> None:
    env = {"TWILIO_BASE_URL": ""}

    apply_defaults(env, tmp_path)

    assert "TWILIO_AUTH_TOKEN" not in env
