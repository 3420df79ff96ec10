"""The layout promise the browser tests share: no horizontal scroll, nothing outside or clipped."""

from __future__ import annotations

from pathlib import Path

from sendgrid_dashboard.browser import check_layout


def assert_fits(html: Path, shots: Path, widths: tuple[int, ...]) -> None:
    """Open ``html`` at each width in Chromium: the page fits, no element outside or clipped."""
    for report in check_layout(html, shots, widths):
        assert report.scroll_width <= report.client_width, report
        assert report.outside == [], report
        assert report.clipped == [], report
