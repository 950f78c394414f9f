"""Rows for the latency issue's targets: ordinary load per channel, critical while a
broadcast drains (plain worker), and isolation from a slow provider."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str]
CHANNELS = ("email", "sms", "push")


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "**missed**")


def _per_channel(figures: dict[str, Any]) -> str:
    parts = []
    for channel in CHANNELS:
        f = figures.get(channel) or {}
        if f.get("p50") is not None:
            parts.append(f"{channel} p50 {f['p50']:.0f} / p99 {f['p99']:.0f}")
    return "; ".join(parts) + " ms" if parts else "no samples"


def latency_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    ordinary = results.get("ordinary") or {}
    latency = ordinary.get("provider_latency_ms", 50)
    target = f"p50 <= {latency + 30} ms, p99 <= {latency + 250} ms per channel"
    labels = (
        ("plain", "plain worker = make run's layout"),
        ("urgent_worker", "with NOTIFY_URGENT_WORKER=1"),
    )
    for name, label in labels:
        entry = ordinary.get(name)
        if not entry:
            continue
        for key, figures in entry.items():
            if not key.startswith("at_"):
                continue
            rows.append(
                (
                    f"ordinary load, {label}, {key[3:]} % of {entry['capacity_per_s']:.0f}/s "
                    f"({figures['requests_per_s']} req/s mix)",
                    _per_channel(figures),
                    target,
                    _verdict(figures["verdict"]["all"]),
                )
            )
    crit = results.get("critical_broadcast")
    if crit and crit.get("all", {}).get("p95") is not None:
        p95, p99 = crit["all"]["p95"], crit["all"]["p99"]
        rows.append(
            (
                f"critical while a {crit['broadcast_recipients']:,}-recipient broadcast "
                "expands and sends (plain worker, no urgent worker)",
                f"p95 {p95:.0f} / p99 {p99:.0f} ms (n={crit['critical_during']})",
                "p95 <= 300 ms, p99 <= 500 ms",
                _verdict(p95 <= 300 and p99 <= 500),
            )
        )
    iso = results.get("isolation")
    if iso:
        rows.append(
            (
                f"isolation: SMS stand-in answers in {iso['slow_provider_ms']} ms; email, push",
                _per_channel({c: iso.get(c) for c in ("email", "push")})
                + f"; SMS still sent at {iso['sms_sent_per_s']}/s",
                target,
                _verdict(iso["verdict"]["all"]),
            )
        )
    return rows
