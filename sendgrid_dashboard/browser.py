"""Open a dashboard file in Debian's headless chromium: errors, network, charts, screenshot.

Used by the browser test and to (re)generate the README screenshot::

    python -m sendgrid_dashboard.browser .local/dashboard/sendgrid_dashboard.html \
        docs/dashboard.png --max-height 2200

Needs the ``playwright`` package (development requirements) and ``/usr/bin/chromium``
(``deploy/ensure_chromium.sh`` installs it); Playwright's own browser download is never used.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1360, "height": 900}

_CHART_BOXES = """
() => Array.from(document.querySelectorAll('svg.chart')).map((svg) => {
  const box = svg.getBoundingClientRect();
  return {
    chart: svg.dataset.chart, tenant: svg.dataset.tenant || null,
    metric: svg.dataset.metric || null, points: Number(svg.dataset.points),
    width: box.width, height: box.height,
    drawn: svg.querySelectorAll('rect.bar, rect.projection, polyline, path.gauge-value').length,
  };
})
"""


#: Viewport widths the layout must fit without horizontal scrolling (phone to large desktop).
LAYOUT_WIDTHS = (390, 768, 1360, 1920)

_LAYOUT = """
() => {
  const doc = document.documentElement;
  const texts = Array.from(document.querySelectorAll('svg.chart text'))
    .filter((t) => t.getClientRects().length && t.textContent.trim());
  const sizes = texts.map((t) => {
    const ctm = t.getScreenCTM();
    const scale = ctm ? Math.hypot(ctm.a, ctm.b) : 1;
    return {text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale};
  });
  const smallest = sizes.reduce((a, b) => (b.px < a.px ? b : a), {text: '', px: Infinity});
  const clipped = Array.from(document.querySelectorAll('body *'))
    .filter((el) => el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
      && getComputedStyle(el).overflowX !== 'visible')
    .map((el) => el.tagName.toLowerCase() + '.' + el.className);
  const outside = Array.from(document.querySelectorAll('body *'))
    .filter((el) => { const r = el.getBoundingClientRect();
      return r.width > 0 && (r.right > doc.clientWidth + 1 || r.left < -1); })
    .map((el) => el.tagName.toLowerCase() + '.' + (el.getAttribute('class') || ''));
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth,
    chartTexts: sizes.length, smallestText: smallest, clipped: clipped,
    outside: outside.slice(0, 20)};
}
"""


@dataclass
class LayoutReport:
    """How the page fits one viewport width."""

    width: int
    scroll_width: int
    client_width: int
    chart_texts: int
    smallest_chart_text_px: float
    smallest_chart_text: str
    clipped: list[str]
    outside: list[str]
    screenshot: Path


def check_layout(
    html_path: str | Path,
    shots_dir: str | Path,
    widths: tuple[int, ...] = LAYOUT_WIDTHS,
    *,
    executable: Path = CHROMIUM,
) -> list[LayoutReport]:
    """Open the page at each width; measure overflow and chart text size; save screenshots.

    The chart text size is the rendered one: the computed font size times the SVG's scale
    on screen. Screenshots (full page) go to ``shots_dir/dashboard-<width>.png``.
    """
    from playwright.sync_api import sync_playwright

    url = Path(html_path).resolve().as_uri()
    reports = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            for width in widths:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(url, wait_until="load")
                found = page.evaluate(_LAYOUT)
                shot = Path(shots_dir) / f"dashboard-{width}.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True)
                page.close()
                reports.append(
                    LayoutReport(
                        width=width,
                        scroll_width=int(found["scrollWidth"]),
                        client_width=int(found["clientWidth"]),
                        chart_texts=int(found["chartTexts"]),
                        smallest_chart_text_px=float(found["smallestText"]["px"]),
                        smallest_chart_text=str(found["smallestText"]["text"]),
                        clipped=list(found["clipped"]),
                        outside=list(found["outside"]),
                        screenshot=shot,
                    )
                )
        finally:
            browser.close()
    return reports


@dataclass
class BrowserReport:
    """What the browser saw."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    page_height: int = 0
    screenshot: Path | None = None

    @property
    def external_requests(self) -> list[str]:
        """Requests for anything other than the file itself (should be none)."""
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:"))]


def open_dashboard(
    html_path: str | Path,
    screenshot: str | Path | None = None,
    *,
    viewport: dict[str, int] | None = None,
    max_height: int | None = None,
    executable: Path = CHROMIUM,
) -> BrowserReport:
    """Load the page in headless chromium; collect errors, requests and chart boxes.

    With ``screenshot``, a full-page PNG is written there (parents created), cut at
    ``max_height`` pixels when given (the README shows the top of the page).
    """
    from playwright.sync_api import sync_playwright

    report = BrowserReport()
    url = Path(html_path).resolve().as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport or VIEWPORT)  # type: ignore[arg-type]
            page.on(
                "console",
                lambda m: report.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda exc: report.page_errors.append(str(exc)))
            page.on("request", lambda r: report.requests.append(r.url))
            page.goto(url, wait_until="load")
            report.charts = page.evaluate(_CHART_BOXES)
            report.page_height = int(page.evaluate("document.documentElement.scrollHeight"))
            if screenshot is not None:
                target = Path(screenshot)
                target.parent.mkdir(parents=True, exist_ok=True)
                width = (viewport or VIEWPORT)["width"]
                clip = None
                if max_height is not None and report.page_height > max_height:
                    clip = {"x": 0, "y": 0, "width": width, "height": max_height}
                page.screenshot(path=str(target), full_page=True, clip=clip)  # type: ignore[arg-type]
                report.screenshot = target
        finally:
            browser.close()
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sendgrid_dashboard.browser")
    parser.add_argument("page", help="dashboard HTML file")
    parser.add_argument("png", help="screenshot to write")
    parser.add_argument("--max-height", type=int, help="cut the full-page shot at N pixels")
    args = parser.parse_args(argv)
    report = open_dashboard(args.page, args.png, max_height=args.max_height)
    problems = report.console_errors + report.page_errors + report.external_requests
    print(f"{len(report.charts)} charts, screenshot {report.screenshot}")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
