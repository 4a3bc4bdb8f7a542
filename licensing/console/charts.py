"""Charts as inline SVG, drawn on the server: no script, no third-party host, readable by a
screen reader (each chart has a title and the numbers again in a table under it).

Colours come from presentation attributes, not style attributes, which the CSP would refuse.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["bar_chart", "stacked_daily_chart"]

PALETTE = ("#1f6feb", "#d97706", "#059669", "#b91c1c", "#7c3aed", "#0e7490", "#a16207", "#be185d")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 44, 28, 12


def _slug(title: str) -> str:
    return "chart-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value + (-value % 10000)


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    header = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<details><summary>{escape(caption)} as a table</summary>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></details>"
    )


def stacked_daily_chart(
    title: str, days: Sequence[dt.date], series: Mapping[str, Mapping[dt.date, int]]
) -> str:
    """Stacked bars, one per day, one colour per series (product or reason)."""
    names = sorted(series)
    totals = [sum(series[n].get(day, 0) for n in names) for day in days]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(1, len(days))
    bar = max(1.0, slot * 0.7)
    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 24 * ((len(names) + 3) // 4)}" role="img" '
            f'aria-labelledby="{_slug(title)}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{_slug(title)}">{escape(title)}: {sum(totals)} in all</title>'
        )
    ]
    for tick in range(5):
        value = top * tick // 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#57606a">{value}</text>'
        )
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - bar) / 2
        y = TOP + plot_h
        for n, name in enumerate(names):
            count = series[name].get(day, 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{PALETTE[n % len(PALETTE)]}">'
                f"<title>{day.isoformat()} {escape(name)}: {count}</title></rect>"
            )
        if len(days) <= 14 or i % max(1, len(days) // 6) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                f'fill="#57606a">{day:%m-%d}</text>'
            )
    for n, name in enumerate(names):
        lx, ly = LEFT + (n % 4) * 170, HEIGHT + 8 + 24 * (n // 4)
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{PALETTE[n % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 18}" y="{ly + 11}" font-size="12" fill="#24292f">{escape(name)}</text>')
    if not names:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="14" fill="#57606a">nothing in this period</text>'
        )
    parts.append("</svg>")
    rows = [
        [day.isoformat(), *(series[n].get(day, 0) for n in names)]
        for day, total in zip(days, totals, strict=True)
        if total
    ]
    return f"<h2>{escape(title)}</h2>" + "".join(parts) + _table(title, ["day", *names], rows)


def bar_chart(title: str, values: Sequence[tuple[str, int]]) -> str:
    """Horizontal bars, one per label (verdict reasons)."""
    row_h = 26
    height = TOP + row_h * max(1, len(values)) + 8
    top = _nice_max(max((v for _, v in values), default=0))
    label_w = 170
    plot_w = WIDTH - label_w - 60
    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{_slug(title)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title id="{_slug(title)}">{escape(title)}</title>'
        )
    ]
    for i, (label, value) in enumerate(values):
        y = TOP + i * row_h
        w = plot_w * value / top
        colour = "#059669" if label == "VALID" else PALETTE[(i + 1) % len(PALETTE)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" fill="#24292f">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"><title>{escape(label)}: {value}</title></rect>'
        )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="#24292f">{value}</text>'
        )
    if not values:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{TOP + 16}" text-anchor="middle" font-size="14" fill="#57606a">no key checked yet</text>'
        )
    parts.append("</svg>")
    return f"<h2>{escape(title)}</h2>" + "".join(parts) + _table(title, ["verdict", "count"], list(values))
