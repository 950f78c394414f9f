from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from notify.stack.console import Console
from notify.stack.supervisor import ProcessSpec, Supervisor
from tests.stack.conftest import gone, py

SLEEPER = "import time; print('up', flush=True); time.sleep(60)"


def supervise(
    *specs: ProcessSpec,
    env: dict[str, str] | None = None,
    stop_timeout: float = 10.0,
    watch: Callable[[], list[str]] | None = None,
) -> tuple[Supervisor, io.StringIO]:
    out = io.StringIO()
    console = Console(out, width=7, color=False)
    supervisor = Supervisor(specs, env=env, console=console, stop_timeout=stop_timeout, watch=watch)
    return supervisor, out


def test_it_prefixes_output_and_stops_the_rest_when_one_child_dies() -> None:
    supervisor, out = supervise(
        ProcessSpec("web", py(SLEEPER)),
        ProcessSpec("worker", py("import time; print('one\\ntwo'); time.sleep(0.5); exit(3)")),
    )

    status = supervisor.run()

    assert status == 3
    text = out.getvalue()
    assert "web     | up" in text
    assert "worker  | one\nworker  | two" in text
    assert "worker exited unexpectedly (status 3)" in text
    assert gone(supervisor.procs["web"].pid)


def test_a_specs_own_environment_reaches_that_child_only() -> None:
    show = "import os, time; print('env=' + os.environ.get('ONLY_HERE', '-'), flush=True); "
    supervisor, out = supervise(
        ProcessSpec("mine", py(show + "time.sleep(60)"), env={"ONLY_HERE": "yes"}),
        ProcessSpec("other", py(show + "time.sleep(0.5); exit(3)")),
        env={**os.environ, "SHARED": "1"},
    )

    assert supervisor.run() == 3
    text = out.getvalue()
    assert "mine    | env=yes" in text
    assert "other   | env=-" in text
    assert "yes" not in text.split("started mine", 1)[1].splitlines()[0]  # not in the argv line


def test_a_child_exiting_cleanly_still_counts_as_a_failure() -> None:
    supervisor, _ = supervise(ProcessSpec("web", py(SLEEPER)), ProcessSpec("once", py("pass")))

    assert supervisor.run() == 1
    assert gone(supervisor.procs["web"].pid)


def test_on_ready_runs_once_when_every_child_is_up() -> None:
    calls: list[float] = []
    started = time.monotonic()
    supervisor, _ = supervise(
        ProcessSpec(
            "a",
            py("import time; time.sleep(0.3); print('ready now'); time.sleep(60)"),
            ready_text="ready now",
        ),
        ProcessSpec("b", py(SLEEPER), ready=lambda: time.monotonic() - started > 0.5),
        ProcessSpec("c", py("import time; time.sleep(1.2); exit(1)")),
    )

    supervisor.run(on_ready=lambda: calls.append(time.monotonic() - started))

    assert len(calls) == 1
    assert 0.5 <= calls[0] < 1.2


def test_a_child_ignoring_sigterm_is_killed_after_the_timeout() -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    supervisor, out = supervise(
        ProcessSpec("stubborn", py(stubborn)),
        ProcessSpec("dies", py("import time; time.sleep(0.5)")),
        stop_timeout=0.5,
    )

    started = time.monotonic()
    supervisor.run()

    assert time.monotonic() - started < 5
    assert gone(supervisor.procs["stubborn"].pid)
    assert "stubborn did not stop in 0.5s, killing it" in out.getvalue()


def test_grandchildren_are_stopped_with_their_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    parent = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    supervisor, _ = supervise(
        ProcessSpec("parent", py(parent)), ProcessSpec("dies", py("import time; time.sleep(1)"))
    )

    supervisor.run()

    assert gone(int(pid_file.read_text()))


def test_a_dead_dependency_stops_everything() -> None:
    supervisor, out = supervise(ProcessSpec("web", py(SLEEPER)), watch=lambda: ["redis"])

    assert supervisor.run() == 1
    assert "redis stopped unexpectedly" in out.getvalue()
    assert gone(supervisor.procs["web"].pid)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_stops_every_child_and_exits_cleanly(signum: signal.Signals) -> None:
    # The supervisor installs signal handlers, so it runs as its own process here, the way
    # `make run` does, and gets a real signal.
    # As from a terminal: a suite run under nohup or as a background job passes ignored
    # SIGHUP/SIGINT on, and the supervisor rightly keeps ignoring those.
    driver = """
import signal, sys
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.default_int_handler)
from notify.stack.supervisor import ProcessSpec, Supervisor
child = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
specs = [ProcessSpec(name, child, ready_text="up") for name in ("web", "worker", "beat")]
sys.exit(Supervisor(specs).run(on_ready=lambda: print("ALL UP", flush=True)))
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", driver],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "ALL UP" in line:
            break
    pids = [int(line.split("(pid ")[1].split(")")[0]) for line in lines if "started " in line]
    assert len(pids) == 3

    proc.send_signal(signum)
    rest, _ = proc.communicate(timeout=15)

    assert proc.returncode == 0
    assert f"got {signum.name}, stopping" in rest
    assert all(gone(pid) for pid in pids)


def test_children_get_their_own_environment() -> None:
    supervisor, out = supervise(
        ProcessSpec("env", py("import os, time; print(os.environ['MARKER']); time.sleep(0.2)")),
        env={**os.environ, "MARKER": "from-the-launcher"},
    )

    supervisor.run()

    assert "env     | from-the-launcher" in out.getvalue()


class VanishedTerminal(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError


def test_output_going_away_does_not_abort_the_cleanup() -> None:
    # `make run | tee log` and Ctrl-C: tee dies first, and every later print fails.
    supervisor = Supervisor(
        [ProcessSpec("web", py(SLEEPER)), ProcessSpec("dies", py("import time; time.sleep(0.3)"))],
        console=Console(VanishedTerminal(), color=False),
    )

    assert supervisor.run() == 1
    assert gone(supervisor.procs["web"].pid)
