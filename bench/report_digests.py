"""Rows for the digest issue's target: a daily digest's flush at >= 2,000 digests/s."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str]
TARGET = 2000


def digest_rows(results: dict[str, Any]) -> list[Row]:
    digests = results.get("digests")
    if not digests:
        return []
    flush, join = digests.get("flush") or {}, digests.get("join") or {}
    rate, cpu = flush.get("digests_per_s"), flush.get("cpu_ms_per_digest") or {}
    verdict = "not measured" if rate is None else ("met" if rate >= TARGET else "**missed**")
    joined_cpu = join.get("cpu_ms_per_joined") or {}
    send = digests.get("send") or {}
    return [
        (
            f"digest flush, {digests['recipients']:,} daily digests due at once",
            f"{rate}/s; CPU/digest workers {cpu.get('workers')} ms, "
            f"Postgres {cpu.get('postgres')} ms",
            f">= {TARGET:,} digests/s",
            verdict,
        ),
        (
            "their emails, counted from the digests' hour",
            f"first after {send.get('first_after_s')} s, last after {send.get('last_after_s')} s"
            f" ({send.get('sent_per_s')}/s)",
            "then at the drain rate",
            "compare",
        ),
        (
            f"digest join ({digests['items_per_digest']} broadcasts)",
            f"{join.get('joined_per_s')}/s; CPU/message workers {joined_cpu.get('workers')} ms, "
            f"Postgres {joined_cpu.get('postgres')} ms",
            "<= a plain broadcast's cost (bulk phase)",
            "compare",
        ),
    ]
