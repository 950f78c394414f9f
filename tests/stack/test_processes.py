"""What `make run` starts: which processes, with which queues, and the switches for them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from notify.stack import commands
from notify.stack.bootstrap import env_flag
from notify.stack.processes import workers_summary


def _option(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_it_runs_one_worker_with_a_process_per_core_on_every_queue() -> None:
    specs = {spec.name: list(spec.argv) for spec in commands.stack_processes(8000, "pw")}

    assert list(specs) == ["sandbox", "web", "worker", "beat", "flower"]
    main = specs["worker"]
    assert main[main.index("celery") :][:4] == ["celery", "-A", "celery_app", "worker"]
    assert _option(main, "--concurrency") == "2"
    assert _option(main, "-n") == "celery@%h"
    # No -Q: the worker consumes every queue, urgent included; its dispatchers keep slots
    # for the urgent lanes, so critical messages need no worker of their own.
    assert _option(main, "-Q") is None


def test_notify_urgent_worker_1_adds_an_urgent_worker_beside_the_main_one() -> None:
    specs = {
        spec.name: list(spec.argv)
        for spec in commands.stack_processes(8000, "pw", urgent_worker=True)
    }

    assert list(specs) == ["sandbox", "web", "worker", "urgent", "beat", "flower"]
    urgent, main = specs["urgent"], specs["worker"]
    assert urgent[urgent.index("celery") :][:4] == ["celery", "-A", "celery_app", "worker"]
    assert _option(urgent, "-Q") == "urgent"
    assert _option(urgent, "--concurrency") == "2"
    # Distinct node names: Flower would otherwise show one worker, and Celery warns.
    assert _option(urgent, "-n") == "urgent@%h"
    assert _option(main, "-n") == "celery@%h"
    # No -Q: the main worker consumes every queue, urgent included, as the fallback.
    assert _option(main, "-Q") is None


def test_both_workers_count_as_up_once_celery_says_ready() -> None:
    specs = {spec.name: spec for spec in commands.stack_processes(8000, "pw", urgent_worker=True)}

    assert specs["urgent"].ready_text == specs["worker"].ready_text == " ready."
    assert " ready." in "[2026-11-21 12:00:00,000: INFO/MainProcess] urgent@box ready."


def test_the_banner_names_the_worker_nodes_as_flower_shows_them() -> None:
    host = socket.gethostname()

    assert workers_summary(urgent_worker=True) == (
        f"celery@{host} (every queue), urgent@{host} (urgent queue only)"
    )
    assert "NOTIFY_URGENT_WORKER=1" in workers_summary(urgent_worker=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), ("1", True), ("yes", True), ("0", False), (" OFF ", False)],
)
def test_switches_read_1_and_0_and_default_to_on(value: str | None, expected: bool) -> None:
    env = {} if value is None else {"NOTIFY_URGENT_WORKER": value}
    assert env_flag(env, "NOTIFY_URGENT_WORKER") is expected


def test_a_mistyped_switch_stops_run_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "DATA", tmp_path)
    monkeypatch.setattr(commands, "running", lambda *a: pytest.fail("services were resolved"))
    monkeypatch.setenv("NOTIFY_URGENT_WORKER", "flase")

    assert commands.run() == 1
    assert "NOTIFY_URGENT_WORKER='flase': use 1 or 0" in capsys.readouterr().out


def test_flowers_password_travels_in_its_environment_never_in_argv() -> None:
    specs = {spec.name: spec for spec in commands.stack_processes(8000, "fl0wer-s3cret")}

    flower = specs["flower"]
    # argv is what `ps` and the supervisor's "started flower (pid ...)" line show.
    assert not any("fl0wer-s3cret" in arg or "basic" in arg for arg in flower.argv)
    assert flower.env == {"FLOWER_BASIC_AUTH": "admin:fl0wer-s3cret"}
    for other in specs.values():
        assert not any("fl0wer-s3cret" in arg for arg in other.argv)
        if other.name != "flower":
            assert "FLOWER_BASIC_AUTH" not in other.env
