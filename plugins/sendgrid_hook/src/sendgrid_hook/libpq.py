"""The libpq parameters the project passes on from a PostgreSQL connection's extra.

One list for every client of the warehouse: the pipeline's
:class:`sendgrid_elt.postgres_target.PostgresTarget` (psycopg, SQLAlchemy, dbt) and the hook's
OAuth refresh lock.
"""

from __future__ import annotations

#: The libpq parameters a target passes on, and the environment variable libpq reads for each
#: (how the dbt process gets them). The same keys as the Postgres provider's connection extra.
LIBPQ_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "sslnegotiation": "PGSSLNEGOTIATION",
    "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
#: TCP keepalives on every connection to a host (not a socket) unless the target sets them: a
#: warehouse that vanished from the network fails the call within about two minutes instead of
#: leaving a tenant thread (and so its batch task) waiting forever.
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "60", "keepalives_interval": "10",
              "keepalives_count": "6"}  # fmt: skip
#: Seconds a connection attempt to a host (not a socket) may take unless the target sets it:
#: libpq waits forever by default, so a warehouse host dropping packets held a Connect page
#: load, a health read or a tenant's thread until the kernel gave up (minutes).
CONNECT_TIMEOUT = {"connect_timeout": "10"}


def libpq_params(values: dict[str, object] | None) -> tuple[tuple[str, str], ...]:
    """The libpq parameters among ``values`` (a connection's extra, a URL's query), sorted."""
    return tuple(sorted((k, str(v)) for k, v in (values or {}).items()
                        if k in LIBPQ_ENV or k in KEEPALIVES))  # fmt: skip


def client_params(host: str, params: dict[str, str]) -> dict[str, str]:
    """``params`` plus the defaults for a host, not a socket (the given values win).

    The defaults are :data:`KEEPALIVES` and :data:`CONNECT_TIMEOUT`.
    """
    if host.startswith("/"):
        return dict(params)
    defaults = {**KEEPALIVES, **CONNECT_TIMEOUT}
    return {**{k: v for k, v in defaults.items() if k not in params}, **params}
