"""Connection parameters of one PostgreSQL database, in every form our tools need.

Beyond host, port, user, password and database, a target carries the libpq parameters of
:data:`LIBPQ_ENV` (TLS above all: ``sslmode=verify-full`` and its certificates) from the
``sendgrid_warehouse`` connection's extra or a URL's query, and hands them to every client:
psycopg, SQLAlchemy, the Airflow connection JSON and dbt (through libpq's ``PG*`` variables).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote, urlencode, urlsplit

from sendgrid_hook.libpq import KEEPALIVES, LIBPQ_ENV, client_params, libpq_params

__all__ = ["KEEPALIVES", "LIBPQ_ENV", "PostgresTarget", "libpq_params"]


@dataclass(frozen=True)
class PostgresTarget:
    """Where a PostgreSQL database is and how to log in.

    ``host`` may be a host name or a Unix-socket directory (an absolute path), as libpq accepts.
    """

    host: str
    port: int = 5432
    user: str = "postgres"
    password: str = field(default="", repr=False)  # never in a repr, a log line or a traceback
    dbname: str = "postgres"
    #: libpq parameters (:data:`LIBPQ_ENV` and keepalive keys) as sorted ``(key, value)`` pairs.
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_url(cls, url: str) -> PostgresTarget:
        """Parse ``postgresql://user:pass@host:port/db`` (``?host=/socket/dir`` also accepted)."""
        parts = urlsplit(url)
        if parts.scheme.split("+")[0] not in {"postgres", "postgresql"}:
            raise ValueError(f"not a PostgreSQL URL (scheme {parts.scheme!r})")
        query = {k: unquote(v) for k, v in
                 (p.split("=", 1) for p in parts.query.split("&") if "=" in p)}  # fmt: skip
        host = query.get("host", "") or parts.hostname or "localhost"
        return cls(
            host=host,
            port=parts.port or int(query.get("port", 5432)),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            params=libpq_params(query),
        )

    @classmethod
    def from_libpq_env(cls) -> PostgresTarget | None:
        """Build a target from the standard ``PGHOST``/``PGPORT``/... variables, if set."""
        if not os.environ.get("PGHOST"):
            return None
        return cls(
            host=os.environ["PGHOST"],
            port=int(os.environ.get("PGPORT", "5432")),
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD", ""),
            dbname=os.environ.get("PGDATABASE", "postgres"),
        )

    def with_database(self, dbname: str) -> PostgresTarget:
        """Return the same server with another database."""
        return replace(self, dbname=dbname)

    @property
    def is_socket(self) -> bool:
        """Whether ``host`` is a Unix-socket directory."""
        return self.host.startswith("/")

    def conninfo(self) -> str:
        """Return a libpq keyword/value string (psycopg 3 ``connect()`` argument)."""
        fields = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": self.dbname,
        }
        if self.password:
            fields["password"] = self.password
        fields.update(self._client_params())
        return " ".join(f"{k}='{_escape(v)}'" for k, v in fields.items())

    def _client_params(self) -> dict[str, str]:
        return client_params(self.host, dict(self.params))

    def libpq_env(self) -> dict[str, str]:
        """The ``PG*`` variables of :attr:`params` (for a client configured another way: dbt)."""
        return {LIBPQ_ENV[k]: v for k, v in self.params if k in LIBPQ_ENV}

    def url(self) -> str:
        """Return a libpq URL (a socket directory goes into the ``host`` query parameter)."""
        return self.sqlalchemy_url().replace("postgresql+psycopg://", "postgresql://", 1)

    def sqlalchemy_url(self) -> str:
        """Return a SQLAlchemy URL using the psycopg 3 driver."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        query = urlencode(self._client_params(), quote_via=quote)
        if self.is_socket:
            url = (
                f"postgresql+psycopg://{auth}@/{quote(self.dbname, safe='')}"
                f"?host={quote(self.host, safe='')}&port={self.port}"
            )
            return url + (f"&{query}" if query else "")
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        url = f"postgresql+psycopg://{auth}@{host}:{self.port}/{quote(self.dbname, safe='')}"
        return url + (f"?{query}" if query else "")

    def airflow_connection_json(self) -> str:
        """Return the JSON form of an Airflow ``postgres`` connection (``AIRFLOW_CONN_*`` value)."""
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": self.host,
                "port": self.port,
                "login": self.user,
                "password": self.password,
                "schema": self.dbname,
                **({"extra": dict(self.params)} if self.params else {}),
            }
        )

    def describe(self) -> str:
        """Human-readable location without the password."""
        where = f"socket {self.host}" if self.is_socket else f"{self.host}:{self.port}"
        return f"postgresql://{self.user}@{where}/{self.dbname}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
