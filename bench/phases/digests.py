"""Phase: a daily digest at scale. N recipients (a topic's subscribers) each get `items`
messages through the broadcast path, every one joining the recipient's open daily digest;
then all N digests are made due at once (the operator's "flush now", as at the digest's
hour) and the workers flush them: one email notification per recipient, carrying its items.

Figures: the join (messages joined per second and CPU per joined message, against a plain
broadcast's in the bulk phase), the flush (digest notifications created per second, from
the rows' own timestamps, and CPU per digest of the workers and of Postgres), and the send
that follows at the drain rate. CPU per unit is the figure to compare on a shared machine;
the rates are wall-clock and noisy."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import requests

from bench.procs import SOURCE
from bench.runner import Run, Window

_TOPIC = "bench-digest"
_TEMPLATE = "bench-digest"
_POLL_S = 0.5


def digests_daily(run: Run) -> None:
    cfg, stack = run.cfg, run.stack
    n, items = cfg.digest_recipients, cfg.digest_items
    stack.reset_data()
    stack.start_workers(cfg.layout)
    _tool(run, "template", _TEMPLATE)
    _tool(run, _TOPIC, str(n), module="bench.audience")
    stack.sql("ANALYZE notify_recipient")
    run.wait_quiet(cfg.quiet_wait_seconds)
    out: dict[str, Any] = {"recipients": n, "items_per_digest": items}
    out["join"] = _join(run, n, items)
    # What autovacuum would have done over a day of joining (this machine's Postgres may run
    # without it): the flush is measured on statistics that know the held rows. Its
    # statements do not depend on them (`python -m bench.digest_cpu --stale`).
    stack.sql("ANALYZE notify_delivery, notify_notification, notify_digest")
    run.wait_quiet(cfg.quiet_wait_seconds)
    out["flush"] = _flush(run, n)
    out["send"] = _send(run, n, due_at=out["flush"]["due_at"])
    run.results["digests"] = out
    flush = out["flush"]
    run.say(
        f"digests: {n:,} x {items} joined at {out['join']['joined_per_s']:,}/s; flushed "
        f"{flush['digests_sent']:,} at {flush['digests_per_s']}/s "
        f"({flush['cpu_ms_per_digest']} ms CPU each); sent at {out['send']['sent_per_s']}/s"
    )
    if not flush["digests_sent"]:
        raise RuntimeError(f"digests: nothing flushed ({flush})")


def _tool(run: Run, *args: str, module: str = "bench.digest_tools") -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", module, *args],
        cwd=SOURCE.path,
        env={**run.stack.env, "PYTHONPATH": str(SOURCE.path)},
        check=True,
        timeout=900,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _join(run: Run, n: int, items: int) -> dict[str, Any]:
    """`items` broadcasts to the topic, one after the other (each expanded before the next),
    all asking for the same daily digest."""
    stack = run.stack
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json"}
    )
    url = f"{stack.url}/api/v1/broadcasts/"
    window = Window(run)
    started = time.time()
    for i in range(items):
        body: dict[str, Any] = {
            "topic": _TOPIC,
            "template": _TEMPLATE,
            "data": {"title": f"update {i}"},
            "channels": ["email"],
            "digest": {"key": "daily", "schedule": "daily@09:00"},
        }
        response = session.post(url, json=body, timeout=60)
        if response.status_code != 202:
            raise RuntimeError(f"digest broadcast: HTTP {response.status_code}: {response.text}")
        _wait_expanded(session, f"{url}{response.json()['id']}/", run.cfg.digest_max_seconds)
    window.close()
    (ended,) = stack.sql("SELECT extract(epoch FROM max(updated_at)) FROM notify_broadcast")[0]
    joined, digests = stack.sql(
        "SELECT count(*) FILTER (WHERE digest_id IS NOT NULL), "
        "count(DISTINCT digest_id) FROM notify_notification"
    )[0]
    seconds = float(ended) - started
    return {
        "joined": joined,
        "open_digests": digests,
        "seconds": round(seconds, 2),
        "joined_per_s": round(joined / seconds) if seconds > 0 else None,
        "cpu_ms_per_joined": {
            "workers": round(1000 * window.cpu_seconds(["workers"]) / max(joined, 1), 3),
            "postgres": round(1000 * window.cpu_seconds(["postgres"]) / max(joined, 1), 3),
        },
    }


def _wait_expanded(session: requests.Session, url: str, budget: float) -> None:
    deadline = time.time() + budget
    while time.time() < deadline:
        view = session.get(url, timeout=60).json()
        if view["status"] in ("expanded", "cancelled", "halted"):
            return
        time.sleep(_POLL_S)
    raise RuntimeError(f"digest broadcast not expanded after {budget:.0f}s")


def _flush(run: Run, n: int) -> dict[str, Any]:
    stack = run.stack
    window = Window(run)
    _tool(run, "due")
    deadline = time.time() + run.cfg.digest_max_seconds
    while stack.sql("SELECT count(*) FROM notify_digest WHERE status = 'open'")[0][0]:
        if time.time() > deadline:
            break
        time.sleep(_POLL_S)
    window.close()
    sent, failed, due_at, first, last = stack.sql(
        "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status <> 'sent'),"
        " extract(epoch FROM min(flush_at)), extract(epoch FROM min(closed_at)),"
        " extract(epoch FROM max(closed_at)) FROM notify_digest"
    )[0]
    seconds = float(last) - float(due_at) if last is not None else None
    return {
        "due_at": float(due_at) if due_at is not None else None,
        "digests_sent": sent,
        "digests_not_sent": failed,
        "first_after_s": round(float(first) - float(due_at), 3) if first else None,
        "seconds": round(seconds, 2) if seconds else None,
        "digests_per_s": round(sent / seconds) if seconds else None,
        "cpu_ms_per_digest": {
            "workers": round(1000 * window.cpu_seconds(["workers"]) / max(sent, 1), 3),
            "postgres": round(1000 * window.cpu_seconds(["postgres"]) / max(sent, 1), 3),
        },
        "cores": window.cores(),
    }


def _send(run: Run, n: int, *, due_at: float | None) -> dict[str, Any]:
    """The digest emails go out through the ordinary delivery streams; what a recipient
    sees is when the first and the last of them left, counted from the digests' hour."""
    stack = run.stack
    sandboxes = stack.sandboxes
    deadline = time.time() + run.cfg.digest_max_seconds
    left = "SELECT count(*) FROM notify_delivery WHERE status IN ('pending', 'sending')"
    while stack.sql(left)[0][0] and time.time() < deadline:
        time.sleep(_POLL_S)
    sent, first, last = stack.sql(
        "SELECT count(*), extract(epoch FROM min(d.sent_at)), extract(epoch FROM max(d.sent_at))"
        " FROM notify_delivery d JOIN notify_notification n ON n.id = d.notification_id"
        " WHERE n.idempotency_key LIKE 'digest:%%' AND d.status = 'sent'"
    )[0]
    seconds = float(last) - float(first) if sent > 1 else None

    def after(at: Any) -> float | None:
        return round(float(at) - due_at, 2) if at is not None and due_at is not None else None

    return {
        "emails_sent": sent,
        "first_after_s": after(first),
        "last_after_s": after(last),
        "all_sent": sent == n,
        "standin_accepted": sandboxes.accepted().get("smtp") if sandboxes else None,
        "seconds": round(seconds, 2) if seconds else None,
        "sent_per_s": round(sent / seconds) if seconds else None,
    }
