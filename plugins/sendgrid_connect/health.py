"""Health of each tenant for the page, read from and written to ``connection_health``.

The table, its statuses and the alert decisions belong to :mod:`sendgrid_elt.connection_health`;
this module only adapts them: it reads all rows at once for the list, and after a successful
Connect / Reconnect / API-key change it runs the same scope check the extract DAG runs
(:func:`~sendgrid_elt.connection_health.check_connection`), which records ``connected`` or
``degraded`` (clearing ``needs_reconnect``) and sends the due "reconnected" notice.
When no warehouse is configured the page still works and shows "never connected".
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

LABELS = {
    "connected": "Connected",
    "degraded": "Degraded: missing scopes",
    "needs_reconnect": "Needs reconnect",
    "never_connected": "Never connected",
}


@dataclass(frozen=True)
class Health:
    """What the page shows about one tenant's health."""

    status: str = "never_connected"
    since: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    reason: str | None = None
    missing_scopes: tuple[str, ...] = ()
    streams_missing_scopes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Human label of the status."""
        return LABELS.get(self.status, self.status)


def _engine() -> Any | None:
    from sendgrid_elt import connection_health

    try:
        return connection_health.health_engine()
    except Exception as exc:  # not configured or unreachable: the page degrades to "never"
        log.info("connection health unavailable: %s", type(exc).__name__)
        return None


def read_all() -> dict[str, Health]:
    """Health rows by tenant id (empty when there is no warehouse or no table yet)."""
    from sqlalchemy import inspect, select

    from sendgrid_elt.connection_health import connection_health
    from sendgrid_elt.settings import STAGING_SCHEMA

    engine = _engine()
    if engine is None:
        return {}
    try:
        if not inspect(engine).has_table("connection_health", schema=STAGING_SCHEMA):
            return {}
        with engine.connect() as conn:
            rows = conn.execute(select(connection_health)).mappings().all()
    except Exception as exc:
        log.warning("could not read connection health: %s", type(exc).__name__)
        return {}
    finally:
        engine.dispose()
    return {
        r["tenant_id"]: Health(
            status=r["status"],
            since=r["status_since"],
            last_success_at=r["last_success_at"],
            reason=r["reason"],
            missing_scopes=tuple(r["missing_scopes"] or ()),
            streams_missing_scopes=dict(r["streams_missing_scopes"] or {}),
        )
        for r in rows
    }


def disabled_by(missing: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """Missing scope -> the streams (data) it disables, from the stream catalog."""
    from sendgrid_elt.catalog import scope_requirements

    disables = scope_requirements().disables
    return {scope: sorted(disables.get(scope, ())) for scope in sorted(missing)}


def record_check(conn_id: str) -> tuple[bool, str]:
    """Run the extract DAG's scope check for ``conn_id`` and record its outcome.

    Returns:
        ``(recorded, note)``; never raises (the credential is already saved).
    """
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    from sendgrid_elt import connection_health

    engine = _engine()
    if engine is None:
        return False, "no warehouse configured: health not recorded"
    hook = SendGridHook(conn_id)
    try:
        report = connection_health.check_connection(hook, engine=engine)
    except Exception as exc:  # AirflowFailException after recording needs_reconnect, etc.
        return False, f"health check failed: {type(exc).__name__}"
    finally:
        hook.close()
        engine.dispose()
    if report.degraded:
        return True, f"{len(report.skipped)} stream(s) lack scopes"
    return True, "all streams have their scopes"
