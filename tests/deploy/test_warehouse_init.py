"""The warehouse init script, run for real against the machine's PostgreSQL.

``deploy/warehouse/init/10-sendgrid-roles.sh`` is what the postgres image runs on first start.
Here it runs against a fresh database with unique role names (roles are server-wide), then the
read-only BI login is checked: it reads ``sendgrid_marts`` (including tables created later by
the ETL role), cannot write, and cannot read ``sendgrid_staging``.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from .deploy_helpers import REPO_ROOT


def pgserver_bin() -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH)


SCRIPT = REPO_ROOT / "deploy/warehouse/init/10-sendgrid-roles.sh"
#: The script calls psql: use the one of the embedded PostgreSQL wheel, so a machine with only
#: Python runs this test as it is.
PSQL_DIR = pgserver_bin()


@pytest.fixture
def roles(pg_database) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    names = {
        "WAREHOUSE_ETL_USER": f"etl_{suffix}",
        "WAREHOUSE_BI_ROLE": f"bi_role_{suffix}",
        "WAREHOUSE_BI_USER": f"bi_{suffix}",
        "METABASE_DB_USER": f"mb_{suffix}",
        "METABASE_DB_NAME": f"mb_{suffix}",
        "WAREHOUSE_ETL_PASSWORD": "etl-pw",
        "WAREHOUSE_BI_PASSWORD": "bi-pw",
        "METABASE_DB_PASSWORD": "mb-pw",
    }
    try:
        yield names
    finally:
        with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(names["METABASE_DB_NAME"])
                )
            )
            for key in ("WAREHOUSE_BI_USER", "WAREHOUSE_BI_ROLE", "WAREHOUSE_ETL_USER",
                        "METABASE_DB_USER"):  # fmt: skip
                exists = conn.execute(
                    "select 1 from pg_roles where rolname = %s", (names[key],)
                ).fetchone()
                if exists:  # a failed run may not have created it
                    conn.execute(
                        sql.SQL("drop owned by {} cascade").format(sql.Identifier(names[key]))
                    )
        admin = pg_database.with_database("postgres")
        with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
            for key in ("WAREHOUSE_BI_USER", "WAREHOUSE_BI_ROLE", "WAREHOUSE_ETL_USER",
                        "METABASE_DB_USER"):  # fmt: skip
                conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(names[key])))


def _run_script(pg_database, names: dict[str, str], *, by_hand: bool = False) -> None:
    """Run the script as the postgres image does, or ``by_hand`` with only ``PG*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "PGUSER", "PGDA"))}
    env.update(names)
    env["PATH"] = f"{PSQL_DIR}{os.pathsep}{env.get('PATH', '')}"
    user, db = ("PGUSER", "PGDATABASE") if by_hand else ("POSTGRES_USER", "POSTGRES_DB")
    env.update(
        {user: pg_database.user, db: pg_database.dbname},
        PGHOST=pg_database.host,
        PGPORT=str(pg_database.port),
        PGPASSWORD=pg_database.password or "",
    )
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _login(pg_database, user: str, password: str) -> psycopg.Connection:
    target = pg_database.with_database(pg_database.dbname)
    return psycopg.connect(
        host=target.host, port=target.port, dbname=target.dbname, user=user, password=password,
        autocommit=True,
    )  # fmt: skip


def test_roles_and_read_only_bi_access(pg_database, roles: dict[str, str]) -> None:
    _run_script(pg_database, roles)
    _run_script(pg_database, roles, by_hand=True)  # idempotent, and runnable with PG* variables

    etl = roles["WAREHOUSE_ETL_USER"]
    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn, conn.cursor() as cur:
        # trust auth may ignore passwords: act as the roles with SET ROLE as well
        cur.execute(sql.SQL("set role {}").format(sql.Identifier(etl)))
        cur.execute("create table sendgrid_marts.m (x int)")
        cur.execute("insert into sendgrid_marts.m values (1)")
        cur.execute("create table sendgrid_staging.s (x int)")
        cur.execute("create schema sendgrid_dbt_staging")  # dbt creates its own schemas
        cur.execute("reset role")
        cur.execute(sql.SQL("set role {}").format(sql.Identifier(roles["WAREHOUSE_BI_USER"])))
        assert cur.execute("select x from sendgrid_marts.m").fetchall() == [(1,)]
        for statement in ("select * from sendgrid_staging.s", "create table public.t (x int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                cur.execute(statement)
        cur.execute("reset role")

    with _login(pg_database, roles["WAREHOUSE_BI_USER"], "bi-pw") as bi:
        assert bi.execute("show default_transaction_read_only").fetchone() == ("on",)
        assert bi.execute("select x from sendgrid_marts.m").fetchall() == [(1,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            bi.execute("insert into sendgrid_marts.m values (2)")
    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
        owner = conn.execute(
            "select pg_get_userbyid(datdba) from pg_database where datname = %s",
            (roles["METABASE_DB_NAME"],),
        ).fetchone()
        assert owner == (roles["METABASE_DB_USER"],)
