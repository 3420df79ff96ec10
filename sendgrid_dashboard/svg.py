"""Building blocks of the inline SVG charts: value text, geometry, axes and legends.

Chart text is sized in the chart's own units (``Frame.font``: 15 of a 440-unit-wide chart), so
that on the narrowest layout (a 390 px phone, charts about 336 px wide) it renders at 11 px or
more; on wide layouts the page's CSS sets it to 12 units (rendered larger, the charts being
wider). The browser test measures the rendered size at four widths.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

PALETTE = ("#1a82e2", "#f2994a", "#27ae60", "#9b51e0", "#eb5757", "#2d9cdb", "#6fcf97")
AXIS = "#5f6b7e"
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
        """The series' name in ``data-series``."""
        return self.key or self.name


@dataclass(frozen=True)
class Frame:
    """Plot geometry shared by the charts (``font``: chart text size in chart units)."""

    width: int = 440
    height: int = 300
    left: int = 60
    right: int = 14
    top: int = 34
    bottom: int = 34
    font: float = 15.0

    @property
    def plot_w(self) -> float:
        """Width of the plot area."""
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        """Height of the plot area."""
        return self.height - self.top - self.bottom

    def text(
        self,
        x: float,
        y: float,
        label: str,
        *,
        anchor: str = "start",
        fill: str = AXIS,
        cls: str = "",
    ) -> str:
        """A ``<text>`` in the frame's font size."""
        klass = f' class="{escape(cls)}"' if cls else ""
        return (
            f'<text{klass} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
            f'font-size="{self.font:g}" fill="{fill}">{escape(label)}</text>'
        )

    def char_width(self) -> float:
        """Approximate advance of one character of chart text."""
        return self.font * 0.58


_TICKS = {1: 5, 2: 4, 2.5: 5, 5: 5, 10: 5}


def scale(value: float, *, integer: bool = False) -> tuple[float, int]:
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


def open_svg(
    kind: str, frame: Frame, title: str, points: int, attrs: Mapping[str, object] | None
) -> list[str]:
    """The ``<svg>`` root (``data-chart``, ``data-points``, ``attrs``) and its title."""
    return [
        f'<svg class="chart chart-{escape(kind)}" data-chart="{escape(kind)}" '
        f'data-points="{points}"{data_attrs(attrs)} viewBox="0 0 {frame.width} {frame.height}" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def empty(frame: Frame, text: str) -> str:
    """The centred text of a chart without data."""
    x, y = frame.left + frame.plot_w / 2, frame.top + frame.plot_h / 2
    return frame.text(x, y, text, anchor="middle", cls="empty")


def y_axis(frame: Frame, y_min: float, y_max: float, fmt: Formatter, ticks: int = 4) -> list[str]:
    """Grid lines and value labels of the y axis."""
    parts = []
    for i in range(ticks + 1):
        value = y_min + (y_max - y_min) * i / ticks
        y = frame.top + frame.plot_h * (1 - i / ticks)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="{GRID}"/>'
            + frame.text(frame.left - 6, y + frame.font / 3, fmt(value), anchor="end")
        )
    return parts


def x_labels(frame: Frame, labels: Sequence[str], step_x: float, centred: bool) -> list[str]:
    """Labels of the x axis: as many as fit without overlapping, always the last one."""
    widest = max((len(label) for label in labels), default=1) * frame.char_width() + 10
    max_labels = max(2, int(frame.plot_w // widest))
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
            frame.text(x, frame.height - frame.bottom + frame.font + 6, label, anchor=anchor)
        )
    return parts


def legend(frame: Frame, names: Sequence[tuple[str, str, bool | str]]) -> tuple[list[str], int]:
    """Legend entries: (name, colour, style) with style True (dashed line), "box", "outline".

    The style "hollow" is a hollow point. Entries wrap onto more rows when they do not fit
    the width; returns the parts and the height they take (the plot's ``top`` must be at
    least that).
    """
    parts: list[str] = []
    x, row = float(frame.left), 0
    line_h = frame.font + 8
    for name, color, style in names:
        width = 22 + len(name) * frame.char_width() + 14
        if x + width > frame.width - frame.right and x > frame.left:
            x, row = float(frame.left), row + 1
        y = 4 + row * line_h + line_h / 2
        if style == "box":
            mark = (
                f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="12" height="12" rx="3" fill="{color}"/>'
            )
        elif style == "outline":
            mark = (
                f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="16" height="12" rx="2" fill="none" '
                f'stroke="{color}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            )
        elif style == "hollow":
            mark = (
                f'<circle cx="{x + 8:.1f}" cy="{y:.1f}" r="4" fill="#fff" stroke="{color}" '
                f'stroke-width="2"/>'
            )
        else:
            dash = ' stroke-dasharray="5 4"' if style is True else ""
            mark = (
                f'<line x1="{x:.1f}" x2="{x + 16:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" '
                f'stroke-width="3" stroke-linecap="round"{dash}/>'
            )
        parts.append(mark + frame.text(x + 21, y + frame.font / 3, name, fill=INK))
        x += width
    return parts, int(4 + (row + 1) * line_h + 6) if names else 8


def segments(values: Sequence[Number | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive non-null values as (index, value) lists."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((i, float(v)))
    return [s for s in runs if s]
