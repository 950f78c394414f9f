"""Small server-side SVG charts for the admin dashboard: no JavaScript, no external assets.
Every text is escaped; colours are dark enough to read on the white plot background (which
the SVG draws itself, so the admin's dark mode does not change it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
AXIS = "#57606a"
GRID = "#d0d7de"
TEXT = "#1f2328"


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[float]
    dashed: bool = False
    total: float | None = None  # shown in the legend; default: the values' sum x step


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    color: str
    text: str  # shown after the bar


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above value (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def number(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _frame(title: str, subtitle: str, width: int, height: int, body: list[str]) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in title.lower())
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'aria-labelledby="t-{slug}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT}>',
            f'<title id="t-{slug}">{escape(title)}</title>',
            f'<rect width="{width}" height="{height}" fill="#ffffff" rx="6" stroke="{GRID}"/>',
            f'<text x="16" y="24" font-size="16" font-weight="600" fill="{TEXT}">'
            f"{escape(title)}</text>",
            f'<text x="16" y="42" font-size="12" fill="{AXIS}">{escape(subtitle)}</text>',
            *body,
            "</svg>",
        ]
    )


def line_chart(
    title: str,
    subtitle: str,
    *,
    start: datetime,
    step: timedelta,
    series: Sequence[Series],
    y_label: str,
    width: int = 960,
    height: int = 320,
) -> str:
    """Lines over time, one per series, with a legend (name and total) above the plot."""
    left, right, top, bottom = 64, 20, 78, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    points = max((len(s.values) for s in series), default=0)
    peak = nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    body: list[str] = []
    legend_x = 16
    for s in series:
        total = s.total if s.total is not None else sum(s.values) * step.total_seconds() / 60
        label = f"{s.name} ({number(total)})"
        dash = ' stroke-dasharray="6 3"' if s.dashed else ""
        body.append(
            f'<line x1="{legend_x}" y1="60" x2="{legend_x + 22}" y2="60" stroke="{s.color}" '
            f'stroke-width="3"{dash}/><text x="{legend_x + 28}" y="64" font-size="12" '
            f'fill="{TEXT}">{escape(label)}</text>'
        )
        legend_x += 40 + 7 * len(label)
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{AXIS}">{number(value)}</text>'
        )
    body.append(
        f'<text transform="translate(16 {top + plot_h / 2:.0f}) rotate(-90)" font-size="11" '
        f'text-anchor="middle" fill="{AXIS}">{escape(y_label)}</text>'
    )
    span = step * max(points - 1, 1)
    body.extend(_time_ticks(start, span, left, top + plot_h, plot_w))
    if not any(any(s.values) for s in series):
        body.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" font-size="14" '
            f'text-anchor="middle" fill="{AXIS}">Nothing in this period</text>'
        )
    for s in series:
        coords = " ".join(
            f"{left + plot_w * i / max(points - 1, 1):.1f},"
            f"{top + plot_h - plot_h * min(v, peak) / peak:.1f}"
            for i, v in enumerate(s.values)
        )
        dash = ' stroke-dasharray="6 3"' if s.dashed else ""
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{s.color}" stroke-width="2" '
            f'stroke-linejoin="round"{dash}><title>{escape(s.name)}</title></polyline>'
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{AXIS}"/><line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" '
        f'stroke="{AXIS}"/>'
    )
    return _frame(title, subtitle, width, height, body)


def _time_ticks(start: datetime, span: timedelta, left: int, base: int, plot_w: int) -> list[str]:
    """A labelled tick on each whole hour (every 3 h over a day), times in UTC."""
    every = timedelta(hours=3) if span > timedelta(hours=6) else timedelta(hours=1)
    tick = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while tick.hour % int(every.total_seconds() // 3600):
        tick += timedelta(hours=1)
    out = []
    while tick <= start + span:
        x = left + plot_w * (tick - start) / span
        out.append(
            f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 5}" stroke="{AXIS}"/>'
            f'<text x="{x:.1f}" y="{base + 18}" font-size="11" text-anchor="middle" '
            f'fill="{AXIS}">{tick:%H:%M}</text>'
        )
        tick += every
    return out


def bar_chart(
    title: str,
    subtitle: str,
    bars: Sequence[Bar],
    *,
    maximum: float | None = None,
    empty: str = "No data",
    width: int = 470,
) -> str:
    """Horizontal bars, one per row: label, bar, value text."""
    left, right, top, row = 110, 140, 58, 30
    height = top + max(len(bars), 1) * row + 14
    plot_w = width - left - right
    peak = maximum or nice_ceiling(max((b.value for b in bars), default=0))
    body: list[str] = []
    if not bars:
        body.append(
            f'<text x="16" y="{top + 20}" font-size="13" fill="{AXIS}">{escape(empty)}</text>'
        )
    for i, bar in enumerate(bars):
        y = top + i * row
        length = plot_w * min(bar.value, peak) / peak if peak else 0
        body.append(
            f'<text x="{left - 10}" y="{y + 17}" font-size="13" text-anchor="end" '
            f'fill="{TEXT}">{escape(bar.label)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{plot_w}" height="18" fill="#f6f8fa"/>'
            f'<rect x="{left}" y="{y + 4}" width="{max(length, 2 if bar.value else 0):.1f}" '
            f'height="18" fill="{bar.color}" rx="2"><title>{escape(bar.label)}: '
            f"{escape(bar.text)}</title></rect>"
            f'<text x="{left + plot_w + 8}" y="{y + 17}" font-size="12" fill="{TEXT}">'
            f"{escape(bar.text)}</text>"
        )
    return _frame(title, subtitle, width, height, body)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def scale_color(value: float, warn: float, bad: float) -> str:
    return "#c62828" if value >= bad else "#9a6700" if value >= warn else "#1a7f37"
