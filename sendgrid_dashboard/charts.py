"""Inline SVG charts: no JavaScript library, no CDN, so the page works offline.

Every function returns an ``<svg>`` string with escaped text. The ``<svg>`` root carries
``data-chart`` / ``data-points`` plus any ``attrs`` the caller passes (``data-tenant``,
``data-metric``); every drawn value (bar, line point, marker) carries ``data-series``,
``data-label`` and ``data-value`` with the value it shows, unrounded, so tests (and curious
users) can read exactly what was drawn.

No ``xmlns`` on the root: the charts are inline in an HTML5 page, which needs none, and the
page then references no URL at all.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

PALETTE = ("#1a82e2", "#f2994a", "#27ae60", "#9b51e0", "#eb5757", "#2d9cdb", "#6fcf97")
AXIS = "#8a94a6"
GRID = "#e6e9ef"
INK = "#1f2a3d"

Number = float | int | Decimal
Formatter = Callable[[float], str]


def raw(value: object) -> str:
    """The exact text of a value for a ``data-value`` attribute ('' for null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def data_attrs(attrs: Mapping[str, object] | None) -> str:
    """`` data-k="v"`` for each item (keys without the ``data-`` prefix), escaped."""
    if not attrs:
        return ""
    return "".join(f' data-{escape(k)}="{escape(raw(v))}"' for k, v in attrs.items())


def fmt_int(value: float) -> str:
    """Compact integer: 1234 → 1.2k, 2_500_000 → 2.5M."""
    value = float(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + unit
    return f"{value:.0f}"


def fmt_pct(value: float) -> str:
    """A ratio as a percentage: 0.123 → 12.3%, 0.0004 → 0.04%, 1 → 100%."""
    pct = float(value) * 100
    if pct == 0:
        return "0%"
    if abs(pct) < 1:
        text = f"{pct:.2f}".rstrip("0").rstrip(".")
        return ("<0.01" if text in ("0", "-0") else text) + "%"
    return f"{pct:.1f}".rstrip("0").rstrip(".") + "%"


@dataclass(frozen=True)
class Series:
    """One line or bar series; ``None`` values are gaps. ``key`` names it in ``data-series``."""

    name: str
    values: Sequence[Number | None]
    dashed: bool = False
    color: str | None = None
    key: str = ""

    @property
    def ident(self) -> str:
        return self.key or self.name


@dataclass(frozen=True)
class Frame:
    """Plot geometry shared by the charts."""

    width: int = 560
    height: int = 240
    left: int = 56
    right: int = 16
    top: int = 32
    bottom: int = 32
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


_TICKS = {1: 5, 2: 4, 2.5: 5, 5: 5, 10: 5}


def _scale(value: float, *, integer: bool = False) -> tuple[float, int]:
    """A round axis maximum at or above ``value`` and a tick count giving round steps."""
    if integer and value <= 5:
        return 5.0, 5
    if value <= 0:
        return 1.0, 4
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp * (1 + 1e-9):
            return step * exp, _TICKS[step]
    return 10 * exp, 5


def _nice_max(value: float) -> float:
    return _scale(value)[0]


def _open(
    kind: str, frame: Frame, title: str, points: int, attrs: Mapping[str, object] | None
) -> list[str]:
    return [
        f'<svg class="chart chart-{escape(kind)}" data-chart="{escape(kind)}" '
        f'data-points="{points}"{data_attrs(attrs)} viewBox="0 0 {frame.width} {frame.height}" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def _empty(frame: Frame, text: str) -> str:
    return (
        f'<text class="empty" x="{frame.left + frame.plot_w / 2:.1f}" '
        f'y="{frame.top + frame.plot_h / 2:.1f}" text-anchor="middle" font-size="13" '
        f'fill="{AXIS}">{escape(text)}</text>'
    )


def _y_axis(frame: Frame, y_min: float, y_max: float, fmt: Formatter, ticks: int = 4) -> list[str]:
    parts = []
    for i in range(ticks + 1):
        value = y_min + (y_max - y_min) * i / ticks
        y = frame.top + frame.plot_h * (1 - i / ticks)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{frame.left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{AXIS}">{escape(fmt(value))}</text>'
        )
    return parts


def _x_labels(
    frame: Frame, labels: Sequence[str], step_x: float, centred: bool, max_labels: int = 8
) -> list[str]:
    every = max(1, math.ceil(len(labels) / max_labels))
    parts = []
    last = len(labels) - 1
    for i, label in enumerate(labels):
        # Always label the last point (the most recent); skip its neighbour if they'd collide.
        if (i % every and i != last) or (i != last and last - i < every and last % every):
            continue
        x = frame.left + step_x * (i + (0.5 if centred else 0))
        anchor = "middle"
        if not centred and i == 0:
            anchor = "start"
        elif not centred and i == last:
            anchor = "end"
        parts.append(
            f'<text x="{x:.1f}" y="{frame.height - frame.bottom + 18}" text-anchor="{anchor}" '
            f'font-size="11" fill="{AXIS}">{escape(label)}</text>'
        )
    return parts


def _legend(frame: Frame, names: Sequence[tuple[str, str, bool | str]]) -> list[str]:
    """Legend entries (name, colour, style): style True is a dashed line, "box" a square."""
    parts, x = [], frame.left
    for name, color, style in names:
        if style == "box":
            mark = f'<rect x="{x + 2}" y="6" width="12" height="12" rx="3" fill="{color}"/>'
        else:
            dash = ' stroke-dasharray="5 4"' if style is True else ""
            mark = (
                f'<line x1="{x}" x2="{x + 16}" y1="12" y2="12" stroke="{color}" '
                f'stroke-width="3" stroke-linecap="round"{dash}/>'
            )
        parts.append(
            f'{mark}<text x="{x + 21}" y="16" font-size="11.5" fill="{INK}">{escape(name)}</text>'
        )
        x += 34 + 6.4 * len(name)
    return parts


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Formatter = fmt_int,
    y_min: float = 0.0,
    y_max: float | None = None,
    frame: Frame | None = None,
    attrs: Mapping[str, object] | None = None,
    point_labels: Sequence[str] | None = None,
    empty_text: str = "No data yet",
) -> str:
    """Lines over shared x labels (e.g. days); dashed series for projections.

    Each non-null value is also a point (``<circle class="pt">``) with its tooltip and
    ``data-*`` attributes; ``point_labels`` (default ``labels``) names the points.
    """
    frame = frame or Frame()
    point_labels = point_labels or labels
    values = [float(v) for s in series for v in s.values if v is not None]
    span, ticks = _scale(y_max if y_max is not None else max(values, default=0.0) - y_min)
    top = span + y_min
    step_x = frame.plot_w / max(1, len(labels) - 1)
    parts = _open("line", frame, title, len(values), attrs)
    parts += _y_axis(frame, y_min, top, fmt, ticks)
    parts += _x_labels(frame, labels, step_x, centred=False, max_labels=7)
    if not values:
        parts.append(_empty(frame, empty_text))

    def y_of(v: float) -> float:
        return frame.top + frame.plot_h * (1 - (min(max(v, y_min), top) - y_min) / span)

    legend, dots = [], []
    for idx, s in enumerate(series):
        color = s.color or PALETTE[idx % len(PALETTE)]
        legend.append((s.name, color, s.dashed))
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        for segment in _segments(s.values):
            coords = " ".join(f"{frame.left + step_x * i:.1f},{y_of(v):.1f}" for i, v in segment)
            if len(segment) == 1:
                i, v = segment[0]
                parts.append(
                    f'<circle cx="{frame.left + step_x * i:.1f}" cy="{y_of(v):.1f}" r="3" '
                    f'fill="{color}"/>'
                )
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2.25" '
                f'stroke-linejoin="round" stroke-linecap="round"{dash} points="{coords}"/>'
            )
        for i, v in enumerate(s.values):
            if v is None:
                continue
            tip = f"{point_labels[i]} · {s.name}: {fmt(float(v))}"
            dots.append(
                f'<circle class="pt" cx="{frame.left + step_x * i:.1f}" cy="{y_of(float(v)):.1f}" '
                f'r="4" fill="{color}"'
                f"{data_attrs({'series': s.ident, 'label': point_labels[i], 'value': v})}>"
                f"<title>{escape(tip)}</title></circle>"
            )
    parts += dots
    parts += _legend(frame, legend)
    parts.append("</svg>")
    return "".join(parts)


def _segments(values: Sequence[Number | None]) -> list[list[tuple[int, float]]]:
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
    limit: Number | None = None,
    limit_label: str = "limit",
    fmt: Formatter = fmt_int,
    frame: Frame | None = None,
    attrs: Mapping[str, object] | None = None,
    point_labels: Sequence[str] | None = None,
    empty_text: str = "No data yet",
    max_labels: int = 8,
) -> str:
    """Vertical bars per label (stacked or grouped), with an optional horizontal limit line.

    Every value, zero included, is a ``<rect class="bar">`` with ``data-*`` attributes (a zero
    bar has no height). ``point_labels`` (default ``labels``) names the slots in tooltips.
    """
    frame = frame or Frame()
    point_labels = point_labels or labels
    totals = [
        sum(float(s.values[i] or 0) for s in series)
        if stacked
        else max((float(s.values[i] or 0) for s in series), default=0)
        for i in range(len(labels))
    ]
    top, ticks = _scale(max([*totals, float(limit or 0)], default=0.0), integer=True)
    slot = frame.plot_w / max(1, len(labels))
    width_share = 0.64 if len(labels) > 3 else 0.4
    bar_w = slot * width_share / (1 if stacked else max(1, len(series)))
    pad = slot * (1 - width_share) / 2
    parts = _open("bar", frame, title, sum(1 for s in series for v in s.values if v), attrs)
    parts += _y_axis(frame, 0.0, top, fmt, ticks)
    parts += _x_labels(frame, labels, slot, centred=True, max_labels=max_labels)
    if not any(totals):
        parts.append(_empty(frame, empty_text))
    legend = [
        (s.name, s.color or PALETTE[idx % len(PALETTE)], "box") for idx, s in enumerate(series)
    ]
    for i in range(len(labels)):
        base = 0.0
        for idx, s in enumerate(series):
            value = s.values[i]
            fvalue = float(value or 0)
            color = s.color or PALETTE[idx % len(PALETTE)]
            h = frame.plot_h * fvalue / top
            x = frame.left + slot * i + pad + (0 if stacked else bar_w * idx)
            y = frame.top + frame.plot_h * (1 - (base + fvalue) / top)
            tip = f"{point_labels[i]} · {s.name}: {'n/a' if value is None else fmt(fvalue)}"
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" rx="2" fill="{color}"'
                f"{data_attrs({'series': s.ident, 'label': point_labels[i], 'value': value})}>"
                f"<title>{escape(tip)}</title></rect>"
            )
            if stacked:
                base += fvalue
    if limit is not None:
        y = frame.top + frame.plot_h * (1 - float(limit) / top)
        parts.append(
            f'<line class="limit" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y:.1f}" y2="{y:.1f}" stroke="#eb5757" stroke-width="2" '
            f'stroke-dasharray="6 4"{data_attrs({"series": "limit", "value": limit})}/>'
            f'<text x="{frame.width - frame.right}" y="{y - 5:.1f}" text-anchor="end" '
            f'font-size="11" fill="#eb5757">{escape(limit_label)} {escape(fmt(float(limit)))}'
            f"</text>"
        )
    parts += _legend(frame, legend)
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class PeriodBar:
    """One credit period: used (coloured by status), plan total (marker), projection (dashed)."""

    label: str
    used: Number | None
    total: Number | None
    projected: Number | None = None
    color: str = PALETTE[0]
    status: str = ""
    tooltip: str = ""


def period_chart(
    title: str,
    periods: Sequence[PeriodBar],
    *,
    fmt: Formatter = fmt_int,
    frame: Frame | None = None,
    attrs: Mapping[str, object] | None = None,
    empty_text: str = "No credit periods yet",
    legend: Sequence[tuple[str, str]] = (),
) -> str:
    """Credits used per period against the period's credits, with a dashed projection."""
    frame = frame or Frame()
    highest = max(
        (float(v) for p in periods for v in (p.used, p.total, p.projected) if v is not None),
        default=0.0,
    )
    top, ticks = _scale(highest, integer=True)
    slot = frame.plot_w / max(1, len(periods))
    share = 0.56 if len(periods) > 3 else 0.34
    bar_w, pad = slot * share, slot * (1 - share) / 2
    parts = _open("period", frame, title, sum(1 for p in periods if p.used is not None), attrs)
    parts += _y_axis(frame, 0.0, top, fmt, ticks)
    parts += _x_labels(frame, [p.label for p in periods], slot, centred=True)
    if not periods:
        parts.append(_empty(frame, empty_text))

    def y_of(v: float) -> float:
        return frame.top + frame.plot_h * (1 - v / top)

    base_y = frame.top + frame.plot_h
    for i, p in enumerate(periods):
        x = frame.left + slot * i + pad
        if p.projected is not None and p.used is not None and float(p.projected) > float(p.used):
            y = y_of(float(p.projected))
            projected_tip = f"{p.label} · projected at period end: {fmt(float(p.projected))}"
            parts.append(
                f'<rect class="projection" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{base_y - y:.1f}" rx="2" fill="{p.color}" fill-opacity="0.08" '
                f'stroke="{p.color}" stroke-width="1.5" stroke-dasharray="5 4"'
                f"{data_attrs({'series': 'projected', 'label': p.label, 'value': p.projected})}>"
                f"<title>{escape(projected_tip)}</title></rect>"
            )
        used = float(p.used or 0)
        y = y_of(used)
        used_attrs = {"series": "used", "label": p.label, "value": p.used, "status": p.status}
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
            f'height="{base_y - y:.1f}" rx="2" fill="{p.color}"'
            f"{data_attrs(used_attrs)}>"
            f"<title>{escape(p.tooltip or f'{p.label} · used: {fmt(used)}')}</title></rect>"
        )
        if p.total is not None:
            y = y_of(float(p.total))
            parts.append(
                f'<line class="plan" x1="{x - 4:.1f}" x2="{x + bar_w + 4:.1f}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{INK}" stroke-width="2.5" stroke-linecap="round"'
                f"{data_attrs({'series': 'total', 'label': p.label, 'value': p.total})}>"
                f"<title>{escape(f'{p.label} · plan credits: {fmt(float(p.total))}')}</title>"
                f"</line>"
            )
    x = frame.left
    for name, kind in (("plan credits", "plan"), ("projection", "projection"), *legend):
        if kind == "plan":
            mark = (
                f'<line x1="{x}" x2="{x + 16}" y1="12" y2="12" stroke="{INK}" stroke-width="2.5"/>'
            )
        elif kind == "projection":
            mark = (
                f'<rect x="{x}" y="6" width="16" height="12" rx="2" fill="none" stroke="{AXIS}" '
                f'stroke-width="1.5" stroke-dasharray="4 3"/>'
            )
        else:
            mark = f'<rect x="{x + 2}" y="6" width="12" height="12" rx="3" fill="{kind}"/>'
        parts.append(
            f'{mark}<text x="{x + 21}" y="16" font-size="11.5" fill="{INK}">{escape(name)}</text>'
        )
        x += 34 + 6.4 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def gauge(
    title: str,
    ratio: Number | None,
    *,
    caption: str = "",
    attrs: Mapping[str, object] | None = None,
    color: str | None = None,
) -> str:
    """A half-ring gauge for a ratio (0–1, values above 1 shown as overage in red)."""
    frame = Frame(width=180, height=118)
    parts = _open("gauge", frame, title, 0 if ratio is None else 1, attrs)
    r, cx, cy = 64, 90, 86
    parts.append(
        f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {cx + r} {cy}" fill="none" '
        f'stroke="{GRID}" stroke-width="14" stroke-linecap="round"/>'
    )
    if ratio is not None:
        value = float(ratio)
        shown = max(0.0, min(value, 1.0))
        angle = math.pi * (1 - shown)
        x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
        fill = color or ("#eb5757" if value > 1 else "#f2994a" if value > 0.85 else "#27ae60")
        if shown > 0:
            parts.append(
                f'<path class="gauge-value" d="M {cx - r} {cy} A {r} {r} 0 0 1 {x:.2f} {y:.2f}" '
                f'fill="none" stroke="{fill}" stroke-width="14" stroke-linecap="round"/>'
            )
    label = "n/a" if ratio is None else fmt_pct(float(ratio))
    parts.append(
        f'<text x="{cx}" y="{cy - 8}" text-anchor="middle" font-size="24" font-weight="700" '
        f'fill="{INK}">{escape(label)}</text>'
        f'<text x="{cx}" y="{cy + 24}" text-anchor="middle" font-size="11.5" '
        f'fill="{AXIS}">{escape(caption)}</text></svg>'
    )
    return "".join(parts)
