"""Where the time goes: the mix pipeline under load again, with py-spy attached from outside
to every drain process and to one gunicorn worker. A separate run, because a sampler costs CPU
on a 2-core machine and would bend the figures it explains; its numbers are not reported as
throughput."""

from __future__ import annotations

import time
from typing import Any

from bench import profile
from bench.runner import Run


def profile_pipeline(run: Run) -> None:
    cfg = run.cfg
    stack = run.stack
    stack.start_workers(cfg.layout)
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    pause = run.log_dir / "pause"
    seconds = cfg.profile_seconds
    spec = run.spec(
        kind="mix",
        mode="closed",
        clients=cfg.e2e_clients,
        seconds=seconds + 8,
        pause_file=str(pause),
    )
    run.say(f"profile: mix load with py-spy on the workers and web for {seconds:.0f}s")
    run.start_load(spec)
    time.sleep(max(0.0, spec.start_at + 3 - time.time()))
    out_dir = run.out_dir / "profiles"
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = [(f"worker-{i}", p.pid, True) for i, p in enumerate(_pool_processes(run))]
    web = stack.web.tree()[1:2] if stack.web else []
    targets += [("web", p.pid, False) for p in web]
    spies = [
        (
            name,
            out_dir / f"{name}.txt",
            profile.record(pid, seconds, out_dir / f"{name}.txt", gil=gil),
        )
        for name, pid, gil in targets
    ]
    for _, _, spy in spies:
        spy.wait(timeout=seconds + 60)
    run.finish_load(spec, timeout=60)
    stack.wait_idle(timeout=cfg.drain_wait_seconds)
    summaries: dict[str, Any] = {}
    for name, path, spy in spies:
        if spy.returncode != 0 or not path.exists():
            error = spy.stderr.read().decode(errors="replace")[-500:] if spy.stderr else ""
            summaries[name] = {"error": f"py-spy failed ({spy.returncode}): {error}"}
            continue
        summaries[name] = profile.summarise(path)
    run.results["profile"] = {
        "tool": "py-spy record --nonblocking; workers with --gil (samples of the thread "
        "holding the GIL), web without (every non-idle thread)",
        "seconds": seconds,
        **summaries,
    }


def _pool_processes(run: Run) -> list[Any]:
    """The prefork children that run drain tasks (not the consumer main processes)."""
    children = []
    for worker in run.stack.workers:
        tree = worker.tree()
        children += tree[1:]
    return children
