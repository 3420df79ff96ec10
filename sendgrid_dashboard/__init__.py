"""The self-contained HTML dashboard built from the utilization marts.

``write_dashboard(conn, path)`` reads the ``sendgrid_marts`` schema and writes one HTML file
(inline CSS and SVG, no script, no URL: it works offline and can be mailed or attached).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import psycopg

from sendgrid_elt.settings import LOCAL_DIR

DEFAULT_OUTPUT = LOCAL_DIR / "dashboard" / "sendgrid_dashboard.html"


def write_dashboard(
    conn: psycopg.Connection | str,
    path: str | os.PathLike[str] = DEFAULT_OUTPUT,
    *,
    generated_at: dt.datetime | None = None,
) -> Path:
    """Render the dashboard from the marts into ``path`` (atomically); return its absolute path.

    ``conn`` is an open psycopg connection or a libpq conninfo/URL string.
    """
    from sendgrid_dashboard.page import render_dashboard
    from sendgrid_dashboard.queries import load_dashboard

    if isinstance(conn, str):
        with psycopg.connect(conn) as owned:
            dashboard = load_dashboard(owned, generated_at=generated_at)
    else:
        dashboard = load_dashboard(conn, generated_at=generated_at)
    html = render_dashboard(dashboard)
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".dashboard-", suffix=".html", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


__all__ = ["DEFAULT_OUTPUT", "write_dashboard"]
