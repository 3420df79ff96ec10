"""The self-contained HTML dashboard built from dbt's reporting models.

``write_dashboard(conn, path)`` reads the ``rpt_sendgrid_*`` models (schema
``sendgrid_elt.settings.MARTS_SCHEMA``) and writes one HTML file (inline CSS and SVG, no script:
it works offline and can be mailed or attached). Reconnect links point at the Airflow UI when
its base URL is known (argument, or the environment); one that is not http(s) is refused
before anything is read (:func:`sendgrid_dashboard.render.resolve_base_url`).
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
    connect_base_url: str | None = None,
) -> Path:
    """Render the dashboard into ``path`` (atomically); return its absolute path.

    Args:
        conn: An open psycopg connection or a libpq conninfo/URL string.
        path: The HTML file to write.
        generated_at: The instant printed as "page generated" (default now).
        connect_base_url: The Airflow UI's base URL for reconnect links.

    Returns:
        The absolute path of the file written.

    Raises:
        ValueError: The base URL is not http(s)
            (:func:`~sendgrid_dashboard.render.resolve_base_url`).
    """
    from sendgrid_dashboard.queries import load_dashboard
    from sendgrid_dashboard.render import render_dashboard, resolve_base_url

    connect_base_url = resolve_base_url(connect_base_url)  # before the warehouse is read

    if isinstance(conn, str):
        with psycopg.connect(conn) as owned:
            dashboard = load_dashboard(owned, generated_at=generated_at)
    else:
        dashboard = load_dashboard(conn, generated_at=generated_at)
    html = render_dashboard(dashboard, connect_base_url=connect_base_url)
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
