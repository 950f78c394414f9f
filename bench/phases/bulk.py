"""Phase 5, bulk sends: one broadcast (POST /api/v1/broadcasts/) to N listed recipients for
each N in the configuration, then one to a topic's subscribers.

Per broadcast: the accept (one HTTP round trip: every recipient validated, one row written),
the background expansion into notifications and deliveries (until GET shows `expanded`), and
the time until every delivery has been sent (the provider stand-in answered). Each figure is
also given per recipient; the per-recipient cost at the largest N over that at the smallest
says whether the cost is linear in recipients (1.0 = linear; > 1 = larger sends cost more
per person)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import requests

from bench.payloads import BULK_CHANNELS, broadcast_body, broadcast_message
from bench.procs import SOURCE
from bench.runner import APP_ROLES, Run, Window

# GET interval while waiting for `expanded`. The figures come from row timestamps, so the
# interval only decides when we notice; a shorter one would add its own load (each GET
# counts the broadcast's deliveries by status).
_POLL_S = 1.0
_TOPIC = "bench-topic"


def bulk_broadcasts(run: Run) -> None:
    cfg = run.cfg
    run.stack.start_workers(cfg.layout)
    out: dict[str, Any] = {
        "channels": list(BULK_CHANNELS),
        "deliveries_per_recipient": len(BULK_CHANNELS),
        "list": {},
    }
    for n in cfg.bulk_sizes:
        # Encoded before the clock starts: the client's JSON encoding is not the server's cost.
        body = json.dumps(broadcast_body(n, prefix=f"b{n}")).encode()
        out["list"][str(n)] = _broadcast(run, n, body, label=f"list of {n:,}")
    out["linearity"] = linearity(out["list"])
    if cfg.bulk_topic_size:
        n = cfg.bulk_topic_size
        body = json.dumps({"topic": _TOPIC, **broadcast_message()}).encode()
        out["topic"] = _broadcast(run, n, body, label=f"topic of {n:,}", subscribe=True)
    run.results["bulk"] = out


def _broadcast(
    run: Run, n: int, body: bytes, *, label: str, subscribe: bool = False
) -> dict[str, Any]:
    cfg, stack = run.cfg, run.stack
    sandboxes = stack.sandboxes
    assert sandboxes is not None
    stack.reset_data()
    setup_s = _subscribe(run, n) if subscribe else None
    run.wait_quiet(cfg.quiet_wait_seconds)
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json"}
    )
    url = f"{stack.url}/api/v1/broadcasts/"
    _warm(session, url)
    accepted0 = sandboxes.accepted()
    run.say(f"bulk {label}: POST {len(body) / 1e6:.1f} MB")
    accept, whole = Window(run), Window(run)
    started = time.time()
    response = session.post(url, data=body, timeout=(10, cfg.bulk_max_seconds))
    answered = time.time()
    accept.close()
    if response.status_code != 202:
        raise RuntimeError(f"broadcast {label}: HTTP {response.status_code}: {response.text[:300]}")
    broadcast_id = response.json()["id"]
    deadline = answered + cfg.bulk_max_seconds
    _poll(session, f"{url}{broadcast_id}/", deadline)
    finished = _wait_sent(run, deadline)
    whole.close()
    # What a client sees at the end (deliveries by status), outside the measured window.
    view = session.get(f"{url}{broadcast_id}/", timeout=60).json()
    accepted1 = sandboxes.accepted()
    result = _figures(run, n, broadcast_id, started, answered)
    result.update(
        request_mb=round(len(body) / 1e6, 2),
        setup_s=setup_s,
        all_sent=finished and result["deliveries_sent"] == n * len(BULK_CHANNELS),
        standin_accepted=sum(accepted1[p] - accepted0.get(p, 0) for p in accepted1),
        api_view={k: view.get(k) for k in ("status", "total", "expanded", "deliveries")},
        cpu_ms_per_recipient={
            "accept": round(1000 * accept.cpu_seconds(["web"]) / n, 3),
            "app": round(1000 * whole.cpu_seconds(APP_ROLES) / n, 3),
            "postgres": round(1000 * whole.cpu_seconds(["postgres"]) / n, 3),
        },
        cores=whole.cores(),
    )
    if not result["deliveries_sent"]:
        raise RuntimeError(f"broadcast {label}: nothing delivered ({result['api_view']})")
    run.say(
        f"bulk {label}: accept {result['accept_s']:.2f}s "
        f"({result['accept_recipients_per_s']:,.0f}/s), expanded after "
        f"{result['expanded_after_s']}s, {result['deliveries_sent']:,} sent after "
        f"{result['all_sent_after_s']}s"
    )
    return result


def _warm(session: requests.Session, url: str) -> None:
    """A few invalid broadcasts first, on the keep-alive connection the measured POST reuses
    (so it reaches the same gunicorn process): the TCP connect and that process's first
    broadcast request (serializers built, code paths loaded) are not part of the accept.
    Without this, 1,000 recipients took 0.34 s against 0.41 s for 5,000."""
    for _ in range(3):
        response = session.post(url, data=b'{"recipients": []}', timeout=30)
        if response.status_code != 400:
            raise RuntimeError(f"warm-up broadcast: HTTP {response.status_code}, expected 400")


def _subscribe(run: Run, n: int) -> float:
    """bench/audience.py against the code under test; returns the seconds it took."""
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "bench.audience", _TOPIC, str(n)],
        cwd=SOURCE.path,
        env={**run.stack.env, "PYTHONPATH": str(SOURCE.path)},
        check=True,
        timeout=600,
    )
    run.stack.sql("ANALYZE notify_recipient")
    return round(time.monotonic() - started, 1)


def _poll(session: requests.Session, url: str, deadline: float) -> dict[str, Any]:
    """GET the broadcast until it is expanded (or cancelled, halted, or the deadline passes)."""
    while True:
        response = session.get(url, timeout=60)
        response.raise_for_status()
        view: dict[str, Any] = response.json()
        if view["status"] in ("expanded", "cancelled", "halted") or time.time() > deadline:
            return view
        time.sleep(_POLL_S)


def _wait_sent(run: Run, deadline: float) -> bool:
    """Until nothing is pending or sending. reset_data() emptied the tables, so every
    delivery is this broadcast's; the count is an index scan, unlike the GET's progress."""
    while time.time() < deadline:
        (left,) = run.stack.sql(
            "SELECT count(*) FROM notify_delivery WHERE status IN ('pending', 'sending')"
        )[0]
        if left == 0:
            return True
        time.sleep(0.5)
    return False


def _figures(
    run: Run, n: int, broadcast_id: str, started: float, answered: float
) -> dict[str, Any]:
    """Timings from the rows themselves (the broadcast's updated_at when it became expanded,
    the deliveries' sent_at), all relative to the POST's start."""
    sql = run.stack.sql
    status, expanded, updated = sql(
        "SELECT status, expanded, extract(epoch FROM updated_at) FROM notify_broadcast "
        "WHERE id = %s",
        [broadcast_id],
    )[0]
    created, sent, first, last = sql(
        "SELECT count(*), count(*) FILTER (WHERE d.status = 'sent'), "
        "extract(epoch FROM min(d.sent_at)), extract(epoch FROM max(d.sent_at)) "
        "FROM notify_delivery d JOIN notify_notification n ON n.id = d.notification_id "
        "WHERE n.broadcast_id = %s",
        [broadcast_id],
    )[0]
    accept_s = answered - started
    expand_s = float(updated) - answered if status == "expanded" else None
    send_s = float(last) - answered if last is not None else None
    total_s = float(last) - started if last is not None else None
    return {
        "recipients": n,
        "status": status,
        "expanded": expanded,
        "accept_s": round(accept_s, 3),
        "accept_recipients_per_s": round(n / accept_s),
        "expanded_after_s": _round(float(updated) - started if expand_s is not None else None),
        "expand_recipients_per_s": round(n / expand_s) if expand_s else None,
        "deliveries_created": created,
        "deliveries_sent": sent,
        "first_sent_after_s": _round(float(first) - started if first is not None else None),
        "all_sent_after_s": _round(total_s),
        "sent_deliveries_per_s": round(sent / send_s) if send_s else None,
        "wall_ms_per_recipient": {
            name: None if seconds is None else round(1000 * seconds / n, 4)
            for name, seconds in (
                ("accept", accept_s),
                ("expansion", expand_s),
                ("all_sent", total_s),
            )
        },
        "statuses": dict(
            sql("SELECT status, count(*) FROM notify_delivery GROUP BY status ORDER BY status")
        ),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def linearity(by_size: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per-recipient cost at the largest size over that at the smallest: wall time of the
    accept, the expansion and the whole send, and the CPU of the accept and of Notify's own
    processes over the whole send."""
    sizes = sorted(int(k) for k in by_size)
    if len(sizes) < 2:
        return {}
    small, large = by_size[str(sizes[0])], by_size[str(sizes[-1])]
    out: dict[str, Any] = {"sizes": [sizes[0], sizes[-1]]}
    for group in ("wall_ms_per_recipient", "cpu_ms_per_recipient"):
        for key, a in small[group].items():
            b = large[group].get(key)
            out[f"{group.split('_')[0]}_{key}"] = round(b / a, 2) if a and b else None
    return out
