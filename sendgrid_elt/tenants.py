"""Discover the tenants (``sendgrid`` Airflow connections) at run time, from inside a task.

Airflow 3 tasks talk to the execution API, which can *get* a connection by id but cannot
*list* connections (there is no such call in the Task SDK). So a run finds its tenants in two
places, and then confirms each through ``Connection.get``:

1. **Environment connections**: every ``AIRFLOW_CONN_<ID>`` variable whose value is a
   ``sendgrid`` connection (JSON ``{"conn_type": "sendgrid", ...}`` or a ``sendgrid://`` URI).
   Adding a tenant = adding one variable; nothing else.
2. **Connections stored in the metadata database or a secrets backend** (created in the UI or
   with ``airflow connections add``): list their ids in the Airflow Variable
   ``sendgrid_tenants`` (a JSON list ``["acme", "bluebird"]`` or a comma-separated string).
   Adding such a tenant = adding the connection plus that one documented UI step.

Ids that are not ``sendgrid`` connections are skipped with a warning; the ``tenants`` DAG param
narrows the set for partial reruns.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping

from sendgrid_elt.settings import CONN_TYPE, TENANTS_VARIABLE

log = logging.getLogger(__name__)

_PREFIX = "AIRFLOW_CONN_"


def env_tenant_ids(environ: Mapping[str, str] | None = None) -> list[str]:
    """Ids of the ``sendgrid`` connections defined as ``AIRFLOW_CONN_*`` variables."""
    environ = os.environ if environ is None else environ
    out = []
    for key, value in environ.items():
        if key.startswith(_PREFIX) and _conn_type(value) == CONN_TYPE:
            out.append(key[len(_PREFIX) :].lower())
    return sorted(out)


def _conn_type(value: str) -> str | None:
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return str(data.get("conn_type") or "").replace("-", "_").lower() or None
    scheme, sep, _ = text.partition("://")
    return scheme.replace("-", "_").lower() if sep else None


def variable_tenant_ids(raw: str | None) -> list[str]:
    """Parse the ``sendgrid_tenants`` Variable (JSON list or comma/space separated)."""
    if not raw or not raw.strip():
        return []
    text = raw.strip()
    if text.startswith("["):
        items: Iterable = json.loads(text)
    else:
        items = text.replace(",", " ").split()
    return sorted({str(i).strip() for i in items if str(i).strip()})


def discover(requested: list[str] | None = None) -> list[str]:
    """Return the tenant connection ids of this run (inside a task).

    Args:
        requested: The ``tenants`` DAG param; when given, only these (each must be a
            ``sendgrid`` connection).

    Raises:
        ValueError: A requested id is not a ``sendgrid`` connection.
    """
    from airflow.sdk import Variable

    candidates = set(env_tenant_ids())
    candidates |= set(variable_tenant_ids(Variable.get(TENANTS_VARIABLE, default=None)))
    if requested:
        bad = [t for t in requested if not _is_sendgrid(t)]
        if bad:
            raise ValueError(f"not sendgrid connections: {', '.join(sorted(bad))}")
        return sorted(set(requested))
    found = sorted(t for t in candidates if _is_sendgrid(t))
    log.info("tenants: %d sendgrid connections: %s", len(found), ", ".join(found) or "-")
    return found


def _is_sendgrid(conn_id: str) -> bool:
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception as exc:  # not found, or the secrets backend refused
        log.warning("tenant %s skipped: connection not found (%s)", conn_id, type(exc).__name__)
        return False
    if (conn.conn_type or "").replace("-", "_").lower() != CONN_TYPE:
        log.warning("tenant %s skipped: conn_type is %r, not sendgrid", conn_id, conn.conn_type)
        return False
    return True
