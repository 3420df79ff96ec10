"""Render the dashboard page from the reporting rows with the Jinja2 templates in ``templates/``.

The page is self-contained (inline CSS and SVG, no script). Every figure is an element with
``data-tenant`` / ``data-metric`` / ``data-value`` (the reporting model's value, unrounded;
empty for null), so a test can read the page back and compare it with the models. Templates
autoescape every text from the warehouse; only the SVG built by :mod:`.tenant_charts` (which
escapes its own text) is inserted as markup.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sendgrid_hook.base_url import checked_base_url
from sendgrid_hook.display import plural

from sendgrid_dashboard.cards import CARDS, not_current
from sendgrid_dashboard.formats import (
    bdi,
    n_change,
    n_day,
    n_decimal,
    n_hours,
    n_int,
    n_pct100,
    n_rate,
    n_runs_out,
    n_usd,
    n_when,
    split_list,
)
from sendgrid_dashboard.queries import Dashboard, Row, TenantView
from sendgrid_dashboard.svg import fmt_int, raw
from sendgrid_dashboard.tenant_charts import (
    STATUS_COLORS,
    STATUS_LABELS,
    SUPPRESSION_KINDS,
    seat_limit_off_scale,
    tenant_charts,
)
from sendgrid_elt.settings import CONNECT_BASE_URL_VARIABLE, CONNECT_PAGE_PATH, MARTS_SCHEMA

#: Environment variables giving the Airflow UI's base URL, first found wins: Airflow's own
#: environment form of the Variable, then the API server's ``[api] base_url``.
BASE_URL_ENV = (f"AIRFLOW_VAR_{CONNECT_BASE_URL_VARIABLE.upper()}", "AIRFLOW__API__BASE_URL")


def resolve_base_url(base_url: str | None = None) -> str | None:
    """The Airflow UI's base URL: ``base_url``, else the first of :data:`BASE_URL_ENV` set.

    Every way to the page passes here (:func:`render_dashboard`, ``write_dashboard``, the
    command line), so a value that is not http(s) is never a Reconnect link.

    Returns:
        The checked address without a trailing ``/``; ``None`` when none is set.

    Raises:
        ValueError: The value found is not an http(s) address (a ``javascript:`` button would
            run it); the message names the setting it came from (the argument, the CLI's
            ``--connect-base-url``, or the environment variable), never the value.
    """
    sources = [(base_url, "the connect_base_url argument, --connect-base-url")]
    sources += [(os.environ.get(name), f"environment variable {name}") for name in BASE_URL_ENV]
    for value, source in sources:
        if value and value.strip():
            return checked_base_url(value, f"The dashboard's base URL ({source})")
    return None


def reconnect_url(base_url: str | None, tenant_id: str | None = None) -> str | None:
    """The Connect page (for ``tenant_id``) under ``base_url``; None without a base URL."""
    if not base_url:
        return None
    query = f"?{urlencode({'tenant': tenant_id})}" if tenant_id else ""
    return f"{base_url}{CONNECT_PAGE_PATH}{query}"


_env = Environment(
    loader=PackageLoader("sendgrid_dashboard", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(
    raw=raw,
    bdi=bdi,
    n_int=n_int,
    decimal=n_decimal,
    day=n_day,
    compact=lambda v: "—" if v is None else fmt_int(float(v)),
    pct100=n_pct100,
    rate=n_rate,
    usd=n_usd,
    when=n_when,
    hours=n_hours,
    split_list=split_list,
    plural=plural,
)
_env.globals.update(
    n_change=n_change,
    n_runs_out=n_runs_out,
    STATUS_LABELS=STATUS_LABELS,
    STATUS_COLORS=STATUS_COLORS,
    SUPPRESSION_KINDS=SUPPRESSION_KINDS,
    CONNECT_PAGE_PATH=CONNECT_PAGE_PATH,
    CONNECT_BASE_URL_VARIABLE=CONNECT_BASE_URL_VARIABLE,
    BASE_URL_ENV=BASE_URL_ENV[0],
    MARTS_SCHEMA=MARTS_SCHEMA,
    CARDS=CARDS,
)


#: At most this many tenants get a detailed section (charts, cards); every tenant keeps its
#: portfolio row. A section is about 100 KB of page (its charts), a portfolio row about 2 KB:
#: at 1,000 tenants the page is about 5 MB (every section: about 110 MB).
DETAILED_SECTIONS = 25
#: Reconnect alerts shown in full at the top; the others are listed compactly below them.
ALERTS_SHOWN = 5
#: The model values that put a tenant among those needing attention (detailed first).
ATTENTION = {
    "connection_status": ("needs_reconnect", "degraded"),
    "utilization_status": ("overage", "at_risk"),
    "is_overage_expected": (True,),
}


def needs_attention(overview: Row) -> bool:
    """Whether the tenant's overview row has one of the :data:`ATTENTION` values."""
    return any(overview.get(column) in values for column, values in ATTENTION.items())


def detailed_tenant_ids(tenants: Sequence[TenantView], limit: int = DETAILED_SECTIONS) -> set[str]:
    """The ids of the (at most ``limit``) tenants that get a detailed section.

    Those needing attention (a reconnect, a degraded connection, an overage or its risk:
    :data:`ATTENTION`) come first, then the others, each group in the model's
    ``display_order`` (most emails first). No figure is computed: the rule reads model columns.
    """
    ordered = sorted(tenants, key=lambda t: (not needs_attention(t.overview), _order(t)))
    return {t.tenant_id for t in ordered[: max(0, limit)]}


def _order(t: TenantView) -> int:
    return int(t.overview["display_order"])


def _tenant_context(t: TenantView, base_url: str | None, detailed: bool = True) -> dict[str, Any]:
    charts = tenant_charts(t) if t.has_data and detailed else {}
    return {
        "t": t,
        "o": t.overview,
        "h": t.health,
        "detailed": detailed,
        "charts": {name: Markup(svg) for name, svg in charts.items()},  # noqa: S704 - escaped SVG
        "reconnect_href": reconnect_url(base_url, t.tenant_id),
        "seat_limit_off_scale": seat_limit_off_scale(t),
        "latest_suppressions": [s for s in t.suppressions if s["is_as_of_month"]],
    }


def render_dashboard(
    dashboard: Dashboard,
    *,
    connect_base_url: str | None = None,
    detailed_sections: int = DETAILED_SECTIONS,
) -> str:
    """The whole page as one HTML string.

    Args:
        dashboard: The reporting rows.
        connect_base_url: The Airflow UI's base URL for reconnect links (else from the
            environment, see :func:`resolve_base_url`); without one, the links say how to set it.
        detailed_sections: How many tenants get a detailed section (see
            :func:`detailed_tenant_ids`); the portfolio table lists every tenant.

    Raises:
        ValueError: The base URL is not http(s) (:func:`resolve_base_url`).
    """
    base_url = resolve_base_url(connect_base_url)
    detailed = detailed_tenant_ids(dashboard.tenants, detailed_sections)
    tenants = [_tenant_context(t, base_url, t.tenant_id in detailed) for t in dashboard.tenants]
    return _env.get_template("dashboard.html.j2").render(
        # Before the first transform there is no portfolio row: every figure shows as unknown.
        p=dashboard.portfolio or defaultdict(lambda: None),
        tenants=tenants,
        sections=[c for c in tenants if c["detailed"]],
        detailed_limit=detailed_sections,
        ALERTS_SHOWN=ALERTS_SHOWN,
        generated_at=dashboard.generated_at,
        base_url=base_url,
        connect_href=reconnect_url(base_url),
        # The models the last transform run did not rebuild cleanly: the header's summary and
        # each affected card's marker (templates import the macros "with context" to see it).
        freshness=not_current(dashboard.build_status),
    )
