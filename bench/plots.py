"""PNG plots: throughput over time in the end-to-end phases, latency distributions (CDF),
and worker RSS over a soak."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt


def throughput(results: dict[str, Any], path: Path) -> Path | None:
    phases = [
        (f"{group} {kind}", data)
        for group in ("e2e", "baseline")
        for kind, data in results.get(group, {}).items()
        if isinstance(data, dict) and "series" in data
    ]
    if not phases:
        return None
    fig, axes = plt.subplots(
        len(phases), 1, figsize=(9, 2.2 * len(phases)), sharex=True, squeeze=False
    )
    for ax, (title, data) in zip(axes[:, 0], phases, strict=True):
        series = data["series"]
        for key, label, style in (
            ("created_per_s", "accepted (API)", "--"),
            ("sent_per_s", "sent", "-"),
        ):
            points = series[key]
            ax.plot(
                [s for s, _ in points], [n for _, n in points], style, label=label, linewidth=1.2
            )
        start, end = series["window"]
        ax.axvspan(start, end, color="tab:green", alpha=0.08, label="measured window")
        ax.set_title(f"{title}: {data['deliveries_per_s']:.0f} deliveries/s in window", fontsize=9)
        ax.set_ylabel("deliveries/s", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    axes[-1, 0].set_xlabel("seconds since load start")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def latency_cdf(samples: dict[str, list[float]], path: Path) -> Path | None:
    labels = {
        "receipt": "accept -> provider, mix at steady rate",
        "critical": "critical accept -> provider under backlog",
        "critical_urgent": "critical, + dedicated urgent worker",
        "api_rate_50": "API create at 50/s",
        "ordinary_plain_25": "mix at 25 % of capacity, plain worker",
        "ordinary_plain_50": "mix at 50 % of capacity, plain worker",
        "ordinary_urgent_worker_25": "mix at 25 % of capacity, with the urgent worker",
        "ordinary_urgent_worker_50": "mix at 50 % of capacity, with the urgent worker",
        "critical_broadcast": "critical while a broadcast drains, plain worker",
        "isolation": "email+push while SMS answers in 5 s",
        "api_rate_100": "API create at 100/s",
    }
    present = [(key, sorted(values)) for key, values in samples.items() if values and key in labels]
    if not present:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for key, values in present:
        n = len(values)
        ax.plot(
            values, [(i + 1) / n for i in range(n)], label=f"{labels[key]} (n={n})", linewidth=1.3
        )
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (log scale)")
    ax.set_ylabel("fraction of requests / deliveries")
    for q in (0.5, 0.95, 0.99):
        ax.axhline(q, color="grey", linewidth=0.5, linestyle=":")
    ax.axvline(1000, color="tab:red", linewidth=0.6, linestyle="--", label="1 s (critical target)")
    ax.axvline(
        50, color="tab:orange", linewidth=0.6, linestyle="--", label="50 ms (API p99 target)"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def soak_rss(series: list[tuple[float, float, int]], path: Path) -> Path | None:
    """series: (seconds, worker RSS MB summed over worker processes, deliveries sent so far)."""
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot([s / 60 for s, _, _ in series], [mb for _, mb, _ in series], label="workers' RSS (MB)")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MB")
    ax2 = ax.twinx()
    ax2.plot(
        [s / 60 for s, _, _ in series],
        [n / 1000 for _, _, n in series],
        color="tab:grey",
        linestyle="--",
        label="deliveries sent (k)",
    )
    ax2.set_ylabel("deliveries sent, thousands")
    ax.grid(alpha=0.3)
    fig.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
