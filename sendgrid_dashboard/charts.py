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

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from sendgrid_dashboard.svg import (
    AXIS,
    GRID,
    INK,
    PALETTE,
    Formatter,
    Frame,
    Number,
    Series,
    data_attrs,
    empty,
    fmt_int,
    fmt_pct,
    legend,
    open_svg,
    scale,
    segments,
    x_labels,
    y_axis,
)

#: The frame of every line and bar chart.
CHART = Frame()


def _with_legend(
    frame: Frame, names: Sequence[tuple[str, str, bool | str]]
) -> tuple[Frame, list[str]]:
    parts, height = legend(frame, names)
    return dataclasses.replace(frame, top=max(frame.top, height + 6)), parts


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Formatter = fmt_int,
    y_min: float = 0.0,
    y_max: float | None = None,
    frame: Frame = CHART,
    attrs: Mapping[str, object] | None = None,
    point_labels: Sequence[str] | None = None,
    empty_text: str = "No data yet",
    partial: Sequence[bool] | None = None,
    partial_label: str = "read in part",
) -> str:
    """Lines over shared x labels (e.g. days); dashed series for projections.

    Each non-null value is also a point (``<circle class="pt">``) with its tooltip and
    ``data-*`` attributes; ``point_labels`` (default ``labels``) names the points. A slot whose
    ``partial`` flag is true (e.g. a day read only in part) is left out of the lines (a gap)
    and its points are hollow (``class="pt partial"``, ``data-partial="true"``), with a legend
    entry ``partial_label``.
    """
    colors = [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    is_partial = [bool(f) for f in partial] if partial else [False] * len(labels)
    names: list[tuple[str, str, bool | str]] = [
        (s.name, c, s.dashed) for s, c in zip(series, colors, strict=True)
    ]
    has_partial = any(
        is_partial[i] for s in series for i, v in enumerate(s.values) if v is not None
    )
    if has_partial:
        names.append((partial_label, AXIS, "hollow"))
    frame, legend_parts = _with_legend(frame, names)
    point_labels = point_labels or labels
    values = [float(v) for s in series for v in s.values if v is not None]
    span, ticks = scale(y_max if y_max is not None else max(values, default=0.0) - y_min)
    top = span + y_min
    step_x = frame.plot_w / max(1, len(labels) - 1)
    parts = open_svg("line", frame, title, len(values), attrs)
    parts += y_axis(frame, y_min, top, fmt, ticks)
    parts += x_labels(frame, labels, step_x, centred=False)
    if not values:
        parts.append(empty(frame, empty_text))

    def y_of(v: float) -> float:
        return frame.top + frame.plot_h * (1 - (min(max(v, y_min), top) - y_min) / span)

    dots = []
    for s, color in zip(series, colors, strict=True):
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        joined = [None if is_partial[i] else v for i, v in enumerate(s.values)]
        for run in segments(joined):
            coords = " ".join(f"{frame.left + step_x * i:.1f},{y_of(v):.1f}" for i, v in run)
            if len(run) == 1:
                i, v = run[0]
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
            point = {"series": s.ident, "label": point_labels[i], "value": v}
            look = f'class="pt" r="4" fill="{color}"'
            if is_partial[i]:
                tip += f" ({partial_label})"
                point["partial"] = True
                look = f'class="pt partial" r="4" fill="#fff" stroke="{color}" stroke-width="2"'
            dots.append(
                f'<circle {look} cx="{frame.left + step_x * i:.1f}" cy="{y_of(float(v)):.1f}"'
                f"{data_attrs(point)}><title>{escape(tip)}</title></circle>"
            )
    parts += dots
    parts += legend_parts
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    limit: Number | None = None,
    limit_label: str = "limit",
    fmt: Formatter = fmt_int,
    frame: Frame = CHART,
    attrs: Mapping[str, object] | None = None,
    point_labels: Sequence[str] | None = None,
    empty_text: str = "No data yet",
    unknown_text: str = "Unknown",
) -> str:
    """Vertical bars per label (stacked or grouped), with an optional horizontal limit line.

    Every value, zero included, is a ``<rect class="bar">`` with ``data-*`` attributes (a zero
    bar has no height). ``point_labels`` (default ``labels``) names the slots in tooltips.
    Nothing to draw: ``empty_text`` without slots or when every value is 0, ``unknown_text``
    when a value is null (unknown) and none is above 0 (null is never shown as none).
    """
    colors = [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    frame, legend_parts = _with_legend(
        frame, [(s.name, c, "box") for s, c in zip(series, colors, strict=True)]
    )
    point_labels = point_labels or labels
    totals = [
        sum(float(s.values[i] or 0) for s in series)
        if stacked
        else max((float(s.values[i] or 0) for s in series), default=0)
        for i in range(len(labels))
    ]
    top, ticks = scale(max([*totals, float(limit or 0)], default=0.0), integer=True)
    slot = frame.plot_w / max(1, len(labels))
    width_share = 0.64 if len(labels) > 3 else 0.4
    bar_w = slot * width_share / (1 if stacked else max(1, len(series)))
    pad = slot * (1 - width_share) / 2
    parts = open_svg("bar", frame, title, sum(1 for s in series for v in s.values if v), attrs)
    parts += y_axis(frame, 0.0, top, fmt, ticks)
    parts += x_labels(frame, labels, slot, centred=True)
    if not any(totals):
        unknown = any(v is None for s in series for v in s.values[: len(labels)])
        parts.append(empty(frame, unknown_text if unknown else empty_text))
    for i in range(len(labels)):
        base = 0.0
        for idx, (s, color) in enumerate(zip(series, colors, strict=True)):
            value = s.values[i]
            fvalue = float(value or 0)
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
            + frame.text(
                frame.width - frame.right,
                y - 5,
                f"{limit_label} {fmt(float(limit))}",
                anchor="end",
                fill="#c0392b",
            )
        )
    parts += legend_parts
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
    frame: Frame = CHART,
    attrs: Mapping[str, object] | None = None,
    empty_text: str = "No credit periods yet",
    statuses: Sequence[tuple[str, str]] = (),
) -> str:
    """Credits used per period against the period's credits, with a dashed projection."""
    frame, legend_parts = _with_legend(
        frame,
        [
            ("plan credits", INK, False),
            ("projection", AXIS, "outline"),
            *((name, color, "box") for name, color in statuses),
        ],
    )
    highest = max(
        (float(v) for p in periods for v in (p.used, p.total, p.projected) if v is not None),
        default=0.0,
    )
    top, ticks = scale(highest, integer=True)
    slot = frame.plot_w / max(1, len(periods))
    share = 0.56 if len(periods) > 3 else 0.34
    bar_w, pad = slot * share, slot * (1 - share) / 2
    parts = open_svg("period", frame, title, sum(1 for p in periods if p.used is not None), attrs)
    parts += y_axis(frame, 0.0, top, fmt, ticks)
    parts += x_labels(frame, [p.label for p in periods], slot, centred=True)
    if not periods:
        parts.append(empty(frame, empty_text))

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
    parts += legend_parts
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
    frame = Frame(width=180, height=122, font=12)
    parts = open_svg("gauge", frame, title, 0 if ratio is None else 1, attrs)
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
        + frame.text(cx, cy + 26, caption, anchor="middle")
        + "</svg>"
    )
    return "".join(parts)


__all__ = [
    "CHART",
    "PeriodBar",
    "Series",
    "bar_chart",
    "fmt_int",
    "fmt_pct",
    "gauge",
    "line_chart",
    "period_chart",
]
