"""Discover the tenants (``sendgrid`` Airflow connections) at run time, from inside a task.

Airflow 3 tasks talk to the execution API, which can *get* a connection by id but cannot *list*
connections. Airflow's documented way for task code that needs more is its REST API, so a run
finds its tenants in three places (ids whose type is not known yet are confirmed one by one,
with :func:`sendgrid_hook.airflow_reads.read_connection`: a lookup that fails is an error, never
"deleted"):

1. **The metadata database**, through the Airflow REST API (``GET /api/v2/connections``), with
   the credentials of the connection :data:`~sendgrid_elt.settings.AIRFLOW_API_CONN_ID`
   (type ``http``: host = the API server's base URL, login/password = a user allowed to read
   connections; a token comes from ``POST /auth/token``). Every ``sendgrid`` connection made in
   Admin → Connections, on the Connect page, with the CLI or the REST API is found on the next
   run, and a deleted one is dropped, with no extra step.
2. **Environment connections**: every ``AIRFLOW_CONN_<ID>`` whose value is a ``sendgrid``
   connection (JSON or a ``sendgrid://`` URI).
3. **Other secrets backends** (Vault, AWS Secrets Manager, ...), which Airflow cannot list: their
   ids go into the Variable :data:`~sendgrid_elt.settings.TENANTS_VARIABLE` (JSON list or comma
   separated). The Connect page and the demo add their ids to it (for deployments without the
   API connection); nothing in the project removes an id a user put there.

Ids that are not ``sendgrid`` connections are skipped with a warning; the ``tenants`` DAG param
narrows the set for partial reruns.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from sendgrid_hook.airflow_reads import UnreadableError, read_connection, read_variable

from sendgrid_elt.settings import AIRFLOW_API_CONN_ID, CONN_TYPE, TENANTS_VARIABLE

log = logging.getLogger(__name__)


class TenantListUnreadable(RuntimeError):
    """Where the tenants are listed could not be read: the run's list would be incomplete."""


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


def stored_tenant_ids(session: Any | None = None) -> list[str]:
    """The ids in the metadata database's ``sendgrid_tenants`` Variable (outside a task).

    Where the Connect page and the demo add theirs. Its row is read, not
    ``airflow.models.Variable.get``, which logs a failed query and answers "unset": a list
    written back from that answer held the new ids alone, every other one dropped. In
    ``session`` the row stays locked until the caller's transaction ends, so two writers
    adding at once both keep their ids.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: The metadata database failed.
        ValueError: The Variable is neither a JSON list nor a comma/space list.
    """
    from airflow.models import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(Variable).where(Variable.key == TENANTS_VARIABLE)
    if session is not None:
        row = session.scalar(query.with_for_update())
        return variable_tenant_ids(row.val if row is not None else None)
    with create_session() as own:
        row = own.scalar(query)
        return variable_tenant_ids(row.val if row is not None else None)


def discover(requested: list[str] | None = None, known: Iterable[str] = ()) -> list[str]:
    """Return the tenant connection ids of this run (inside a task).

    Args:
        requested: The ``tenants`` DAG param; when given, only these (each must be a
            ``sendgrid`` connection).
        known: Tenants earlier runs found (the warehouse's registry): one the listings miss
            but that is still a ``sendgrid`` connection (the metadata database's, with the API
            connection gone) is kept, looked up one by one, never dropped and marked removed.

    Raises:
        ValueError: A requested id is not a ``sendgrid`` connection.
        TenantListUnreadable: The Variable, the API connection or a tenant's connection could
            not be read (an execution-API or secrets-backend error): the list would be
            incomplete, and a known tenant missing from it is marked removed, so the run fails
            and its retry lists again.
    """
    try:
        return _discover(requested, known)
    except UnreadableError as exc:
        raise TenantListUnreadable(
            f"{exc}: the tenant list would be incomplete (a tenant left out of it is marked "
            "removed), so this task fails and its retry lists the tenants again"
        ) from None


def _discover(requested: list[str] | None, known: Iterable[str]) -> list[str]:
    if requested:
        bad = [t for t in requested if not _is_sendgrid(t)]
        if bad:
            raise ValueError(f"not sendgrid connections: {', '.join(sorted(bad))}")
        return sorted(set(requested))
    # The environment and the REST listing give each id's type: one lookup per tenant would
    # cost the execution API a request each (1,000 tenants: minutes). A metadata id that an
    # AIRFLOW_CONN_* variable shadows, and the Variable's ids, are confirmed one by one.
    env_ids = set(env_tenant_ids())
    listed = {t for t in metadata_tenant_ids() if f"{_PREFIX}{t.upper()}" not in os.environ}
    named = set(variable_tenant_ids(read_variable(TENANTS_VARIABLE)))
    typed = env_ids | listed
    remembered = set(known) - typed - named
    confirmed = {t for t in (named | remembered) - typed if _is_sendgrid(t)}
    found = sorted(typed | confirmed)
    if confirmed & remembered:
        log.warning("tenants missed by the listings but still sendgrid connections (kept): %s; "
                    "configure the %s connection so that new ones are found too",
                    ", ".join(sorted(confirmed & remembered)), AIRFLOW_API_CONN_ID)  # fmt: skip
    log.info("tenants: %d sendgrid connections: %s", len(found), ", ".join(found) or "-")
    return found


def metadata_tenant_ids() -> list[str]:
    """Ids of the ``sendgrid`` connections in the metadata database, read through the REST API.

    Returns an empty list (with a warning naming what to configure) when the API connection
    :data:`~sendgrid_elt.settings.AIRFLOW_API_CONN_ID` is not defined.

    Raises:
        requests.HTTPError: The API refused the credentials or the listing.
    """
    from airflow.exceptions import AirflowNotFoundException

    try:
        api = read_connection(AIRFLOW_API_CONN_ID)
    except AirflowNotFoundException:
        log.warning(
            "connection %s is not configured: sendgrid connections stored in the metadata "
            "database are not discovered (only AIRFLOW_CONN_* and the Variable %s)",
            AIRFLOW_API_CONN_ID,
            TENANTS_VARIABLE,
        )
        return []
    base_url = _base_url(api.host, api.port, api.schema)
    return list_connection_ids(base_url, api.login or "", api.password or "")


def list_connection_ids(base_url: str, username: str, password: str) -> list[str]:
    """``sendgrid`` connection ids listed by the Airflow REST API at ``base_url``.

    Args:
        base_url: The API server's base URL (``http://host:8080``).
        username: A user allowed to read connections.
        password: Its password (exchanged for a token at ``POST /auth/token``).

    Returns:
        The sorted ids of every connection whose type is ``sendgrid``.
    """
    import requests

    with requests.Session() as session:
        session.headers["Accept"] = "application/json"
        auth = session.post(
            f"{base_url}/auth/token",
            json={"username": username, "password": password},
            timeout=30,
            allow_redirects=False,
        )
        auth.raise_for_status()
        session.headers["Authorization"] = f"Bearer {auth.json()['access_token']}"
        found, offset, limit = [], 0, 100
        while True:
            page = session.get(
                f"{base_url}/api/v2/connections",
                params={"limit": limit, "offset": offset, "order_by": "connection_id"},
                timeout=30,
                allow_redirects=False,
            )
            page.raise_for_status()
            body = page.json()
            rows = body.get("connections") or []
            found += [r["connection_id"] for r in rows if _normal(r.get("conn_type")) == CONN_TYPE]
            offset += len(rows)
            if not rows or offset >= int(body.get("total_entries") or 0):
                return sorted(found)


def _base_url(host: str | None, port: int | None, scheme: str | None = None) -> str:
    """The API server's base URL from an ``http`` connection's fields.

    A host without a scheme takes it from the schema field (``https``), as Airflow's
    ``HttpHook`` does, else ``http``.
    """
    url = (host or "").rstrip("/")
    if "://" not in url:
        url = f"{scheme if scheme in ('http', 'https') else 'http'}://{url}"
    if port and url.count(":") < 2:
        url = f"{url}:{port}"
    return url


def _normal(conn_type: str | None) -> str:
    return (conn_type or "").replace("-", "_").lower()


def _is_sendgrid(conn_id: str) -> bool:
    """Whether ``conn_id`` is a ``sendgrid`` connection (a missing one is not).

    Raises:
        UnreadableError: The lookup itself failed (secrets backend or execution API): the run
            fails and retries rather than dropping the tenant and marking it removed.
    """
    from airflow.exceptions import AirflowNotFoundException

    try:
        conn = read_connection(conn_id)
    except AirflowNotFoundException:
        log.warning("tenant %s skipped: connection not found", conn_id)
        return False
    if (conn.conn_type or "").replace("-", "_").lower() != CONN_TYPE:
        log.warning("tenant %s skipped: conn_type is %r, not sendgrid", conn_id, conn.conn_type)
        return False
    return True
