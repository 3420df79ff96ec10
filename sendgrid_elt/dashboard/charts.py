"""Inline SVG charts: no JavaScript library, no CDN, so the page works offline.

Every function returns an ``<svg>`` string with escaped text. Charts carry
``data-chart`` / ``data-points`` attributes so tests (and curious users) can read what was
drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1a82e2", "#f2994a", "#27ae60", "#9b51e0", "#eb5757", "#2d9cdb", "#6fcf97")
AXIS = "#8a94a6"
GRID = "#e6e9ef"

Formatter = Callable[[float], str]


def fmt_int(value: float) -> str:
    """Compact integer: 1234 → 1.2k, 2_500_000 → 2.5M."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + unit
    return f"{value:.0f}"


def fmt_pct(value: float) -> str:
    """A ratio (0.123) as a percentage (12.3%)."""
    return f"{value * 100:.1f}%"


@dataclass(frozen=True)
class Series:
    """One line or bar series; ``None`` values are gaps."""

    name: str
    values: Sequence[float | None]
    dashed: bool = False
    color: str | None = None


@dataclass(frozen=True)
class Frame:
    """Plot geometry shared by the charts."""

    width: int = 560
    height: int = 240
    left: int = 56
    right: int = 16
    top: int = 28
    bottom: int = 40
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _open(kind: str, frame: Frame, title: str, points: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(kind)}" '
        f'data-points="{points}" viewBox="0 0 {frame.width} {frame.height}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def _y_axis(frame: Frame, y_max: float, fmt: Formatter, ticks: int = 4) -> list[str]:
    parts = []
    for i in range(ticks + 1):
        value = y_max * i / ticks
        y = frame.top + frame.plot_h * (1 - i / ticks)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{AXIS}">{escape(fmt(value))}</text>'
        )
    return parts


def _x_labels(frame: Frame, labels: Sequence[str], step_x: float, centred: bool) -> list[str]:
    every = max(1, math.ceil(len(labels) / 8))
    parts = []
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = frame.left + step_x * (i + (0.5 if centred else 0))
        parts.append(
            f'<text x="{x:.1f}" y="{frame.height - frame.bottom + 16}" text-anchor="middle" '
            f'font-size="11" fill="{AXIS}">{escape(label)}</text>'
        )
    return parts


def _legend(frame: Frame, names: Sequence[tuple[str, str, bool]]) -> list[str]:
    parts, x = [], frame.left
    for name, color, dashed in names:
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 16}" y1="12" y2="12" stroke="{color}" '
            f'stroke-width="3"{dash}/><text x="{x + 20}" y="16" font-size="11" '
            f'fill="#333">{escape(name)}</text>'
        )
        x += 28 + 7 * len(name)
    return parts


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Formatter = fmt_int,
    y_max: float | None = None,
    frame: Frame | None = None,
) -> str:
    """Lines over shared x labels (e.g. months); dashed series for projections."""
    frame = frame or Frame()
    values = [v for s in series for v in s.values if v is not None]
    top = _nice_max(y_max if y_max is not None else max(values, default=0.0))
    step_x = frame.plot_w / max(1, len(labels) - 1)
    parts = _open("line", frame, title, len(values))
    parts += _y_axis(frame, top, fmt)
    parts += _x_labels(frame, labels, step_x, centred=False)
    legend = []
    for idx, s in enumerate(series):
        color = s.color or PALETTE[idx % len(PALETTE)]
        legend.append((s.name, color, s.dashed))
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        for segment in _segments(s.values):
            coords = " ".join(
                f"{frame.left + step_x * i:.1f},"
                f"{frame.top + frame.plot_h * (1 - min(v, top) / top):.1f}"
                for i, v in segment
            )
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2.5"{dash} '
                f'points="{coords}"><title>{escape(s.name)}</title></polyline>'
            )
    parts += _legend(frame, legend)
    parts.append("</svg>")
    return "".join(parts)


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    segments: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((i, float(v)))
    return [s for s in segments if s]


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    limit: float | None = None,
    limit_label: str = "limit",
    fmt: Formatter = fmt_int,
    frame: Frame | None = None,
) -> str:
    """Vertical bars per label (stacked or grouped), with an optional horizontal limit line."""
    frame = frame or Frame()
    totals = [
        sum((s.values[i] or 0) for s in series)
        if stacked
        else max(((s.values[i] or 0) for s in series), default=0)
        for i in range(len(labels))
    ]
    top = _nice_max(max([*totals, limit or 0.0], default=0.0))
    slot = frame.plot_w / max(1, len(labels))
    bar_w = slot * 0.6 / (1 if stacked else max(1, len(series)))
    parts = _open("bar", frame, title, sum(1 for s in series for v in s.values if v))
    parts += _y_axis(frame, top, fmt)
    parts += _x_labels(frame, labels, slot, centred=True)
    legend = []
    for i in range(len(labels)):
        base = 0.0
        for idx, s in enumerate(series):
            value = float(s.values[i] or 0)
            color = s.color or PALETTE[idx % len(PALETTE)]
            if i == 0:
                legend.append((s.name, color, False))
            if value <= 0:
                continue
            h = frame.plot_h * value / top
            x = frame.left + slot * i + slot * 0.2 + (0 if stacked else bar_w * idx)
            y = frame.top + frame.plot_h * (1 - (base + value) / top)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(f"{labels[i]} · {s.name}: {fmt(value)}")}'
                f"</title></rect>"
            )
            if stacked:
                base += value
    if limit is not None:
        y = frame.top + frame.plot_h * (1 - limit / top)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#eb5757" stroke-width="2" stroke-dasharray="6 4"/>'
            f'<text x="{frame.width - frame.right}" y="{y - 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#eb5757">{escape(limit_label)} {escape(fmt(limit))}</text>'
        )
    parts += _legend(frame, legend)
    parts.append("</svg>")
    return "".join(parts)


def gauge(title: str, ratio: float | None, *, caption: str = "") -> str:
    """A half-ring gauge for a ratio (0–1, values above 1 shown as overage in red)."""
    frame = Frame(width=180, height=120)
    parts = _open("gauge", frame, title, 0 if ratio is None else 1)
    r, cx, cy = 64, 90, 92
    parts.append(
        f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {cx + r} {cy}" fill="none" '
        f'stroke="{GRID}" stroke-width="14"/>'
    )
    if ratio is not None:
        shown = max(0.0, min(ratio, 1.0))
        angle = math.pi * (1 - shown)
        x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
        color = "#eb5757" if ratio > 1 else "#f2994a" if ratio > 0.85 else "#27ae60"
        parts.append(
            f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {x:.1f} {y:.1f}" fill="none" '
            f'stroke="{color}" stroke-width="14"/>'
        )
    label = "n/a" if ratio is None else fmt_pct(ratio)
    parts.append(
        f'<text x="{cx}" y="{cy - 8}" text-anchor="middle" font-size="22" font-weight="600" '
        f'fill="#222">{escape(label)}</text>'
        f'<text x="{cx}" y="{cy + 22}" text-anchor="middle" font-size="11" '
        f'fill="{AXIS}">{escape(caption)}</text></svg>'
    )
    return "".join(parts)
