"""The Markdown page of bench.retention's results (bench/results/retention/latest.md)."""

from __future__ import annotations

from typing import Any


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def _row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def markdown(data: dict[str, Any]) -> str:
    phases = data["phases"]
    names = list(phases)
    purge = data["purge"]
    head = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines = [
        "# Growth: retention",
        "",
        f"{data['notifications']:,} notifications over 120 days, generated in "
        f"{data['generate_seconds']} s; PostgreSQL {data['postgres']}; {data['cpus']} CPUs "
        f"shared with other jobs (load average {data['load_average_start_end'][0]:.1f} at the "
        f"start, {data['load_average_start_end'][1]:.1f} at the end), so timings are noisy; "
        "buffers (shared hit + read, from EXPLAIN ANALYZE) are not.",
        "",
        "## Sizes",
        "",
        *head,
    ]
    for table in phases[names[0]]["sizes"]:
        cells = [phases[p]["sizes"][table] for p in names]
        lines.append(_row(f"{table} rows", [f"{c['rows']:,}" for c in cells]))
        lines.append(_row(f"{table} total", [_mb(c["total_bytes"]) for c in cells]))
        lines.append(_row("… heap", [_mb(c["heap_bytes"]) for c in cells]))
        lines.append(_row("… indexes", [_mb(c["indexes_bytes"]) for c in cells]))
    lines += ["", "### Indexes", "", *head]
    for table in phases[names[0]]["sizes"]:
        for index in phases[names[0]]["sizes"][table]["indexes"]:
            cells = [phases[p]["sizes"][table]["indexes"].get(index, 0) for p in names]
            lines.append(_row(index, [_mb(c) for c in cells]))
    lines += [
        "",
        f"## Hot queries: median of {data.get('runs', 15)} runs, ms (buffers)",
        "",
        *head,
    ]
    for query in phases[names[0]]["timings"]:
        cells = [phases[p]["timings"][query] for p in names]
        lines.append(_row(query, [f"{c['median_ms']:,.2f} ({c['buffers']:,})" for c in cells]))
    lines += [
        "",
        "## Purge",
        "",
        f"notifications_purge(older_than={purge['retain_days']} days, batch={purge['batch']}): "
        f"{purge['notifications_deleted']:,} notifications, {purge['rows_deleted']:,} rows "
        f"(with their deliveries and attempts) in {purge['seconds']} s over "
        f"{purge['batches']} batches: **{purge['rows_per_second']:,} rows/s** "
        f"({purge['notifications_per_second']:,} notifications/s); one batch's transaction "
        f"{purge['batch_ms_median']} ms median, {purge['batch_ms_max']} ms max. "
        f"Plain VACUUM (ANALYZE) afterwards: {data['vacuum_seconds']} s; "
        f"VACUUM FULL: {data['vacuum_full_seconds']} s. Older than {purge['retain_days']} days "
        f"and kept: {purge['old_kept']:,} notifications, {purge['old_kept_unfinished']:,} of "
        "them with a pending or sending delivery.",
        "",
    ]
    return "\n".join(lines)
