"""The warehouse decision and the PostgreSQL harness use real servers."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from sendgrid_elt.postgres_target import PostgresTarget
from sendgrid_elt.warehouse import WAREHOUSE_CONN_ENV, Warehouse, resolve_warehouse


def test_each_test_gets_its_own_empty_database(pg_database: PostgresTarget) -> None:
    with psycopg.connect(pg_database.conninfo()) as conn:
        assert conn.execute("select current_database()").fetchone() == (pg_database.dbname,)
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("create table leak_check (id int)")


def test_a_table_from_another_test_is_not_visible(pg_database: PostgresTarget) -> None:
    with psycopg.connect(pg_database.conninfo()) as conn:
        assert conn.execute("select to_regclass('public.leak_check')").fetchone() == (None,)


def test_configured_connection_wins(warehouse: PostgresTarget, capsys) -> None:
    chosen = resolve_warehouse()
    assert chosen.source == "connection"
    assert chosen.target == warehouse
    assert "Airflow connection 'sendgrid_warehouse'" in capsys.readouterr().out


def test_embedded_server_is_started_when_nothing_is_configured(tmp_path) -> None:
    """Run in a child process so the embedded server's lifetime is that process's."""
    code = (
        "import os, psycopg\n"
        f"os.environ.pop({WAREHOUSE_CONN_ENV!r}, None)\n"
        "from sendgrid_elt.warehouse import resolve_warehouse\n"
        f"w = resolve_warehouse({str(tmp_path / 'pgdata')!r})\n"
        "assert w.source == 'embedded', w\n"
        f"assert os.environ[{WAREHOUSE_CONN_ENV!r}]\n"
        "with psycopg.connect(w.target.conninfo()) as c:\n"
        "    print('db=' + c.execute('select current_database()').fetchone()[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "embedded PostgreSQL" in out.stdout
    assert "db=sendgrid" in out.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://u:p%40ss@db.example:6543/wh",
            PostgresTarget(host="db.example", port=6543, user="u", password="p@ss", dbname="wh"),
        ),
        (
            "postgresql://postgres:@/postgres?host=/tmp/sock",
            PostgresTarget(host="/tmp/sock", user="postgres", dbname="postgres"),
        ),
    ],
)
def test_postgres_urls_parse(url: str, expected: PostgresTarget) -> None:
    assert PostgresTarget.from_url(url) == expected


def test_non_postgres_url_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        PostgresTarget.from_url("mysql://root@localhost/db")


def test_a_task_without_the_warehouse_connection_fails_clearly(
    airflow_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first task of the extract DAG names the missing connection; no server is started."""
    from sendgrid_elt.extract_load import prepare_staging
    from sendgrid_elt.settings import LOCAL_DIR
    from sendgrid_elt.warehouse import WarehouseNotConfigured

    monkeypatch.delenv(WAREHOUSE_CONN_ENV, raising=False)
    started_before = (LOCAL_DIR / "warehouse").exists()
    with pytest.raises(WarehouseNotConfigured, match=r"'sendgrid_warehouse'.*make demo"):
        prepare_staging()
    assert (LOCAL_DIR / "warehouse").exists() == started_before


def test_a_target_repr_never_shows_its_password() -> None:
    """A target in a traceback, an assertion message or a log line keeps its password out."""
    target = PostgresTarget.from_url("postgresql://etl:S3cret-pw@db.example:5433/sendgrid")
    assert target.password == "S3cret-pw"
    assert "S3cret-pw" not in repr(target)
    assert "S3cret-pw" not in repr(Warehouse(target=target, source="connection"))


def test_the_connection_s_tls_settings_reach_every_client(
    airflow_home, pg_database: PostgresTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sslmode`` and its certificates in the ``sendgrid_warehouse`` connection's extra (as the
    Postgres provider reads them) reach psycopg, SQLAlchemy and dbt; unknown keys do not."""
    import dataclasses
    import json

    from psycopg.conninfo import conninfo_to_dict

    from sendgrid_elt.transform import warehouse_env
    from sendgrid_elt.warehouse import configured_target

    conn = json.loads(dataclasses.replace(pg_database, params=()).airflow_connection_json())
    conn["extra"] = {"sslmode": "verify-full", "sslrootcert": "/etc/ssl/wh-ca.pem", "foo": "x"}
    monkeypatch.setenv(WAREHOUSE_CONN_ENV, json.dumps(conn))
    target = configured_target()
    assert target is not None
    assert dict(target.params) == {"sslmode": "verify-full", "sslrootcert": "/etc/ssl/wh-ca.pem"}
    info = conninfo_to_dict(target.conninfo())
    assert (info["sslmode"], info["sslrootcert"]) == ("verify-full", "/etc/ssl/wh-ca.pem")
    assert "foo" not in info
    assert "sslmode=verify-full" in target.sqlalchemy_url()
    env = warehouse_env()
    assert (env["PGSSLMODE"], env["PGSSLROOTCERT"]) == ("verify-full", "/etc/ssl/wh-ca.pem")
    # the Airflow connection JSON and a URL carry them too
    assert json.loads(target.airflow_connection_json())["extra"]["sslmode"] == "verify-full"
    assert set(target.params) <= set(PostgresTarget.from_url(target.url()).params)


def test_libpq_accepts_every_parameter_a_target_sends(pg_database: PostgresTarget) -> None:
    """Keepalives and a connect timeout (a vanished warehouse fails a call instead of hanging a
    tenant thread or a page) and an explicit TLS mode are real libpq parameters: the server is
    reached with them."""
    import dataclasses

    target = dataclasses.replace(pg_database, params=(("application_name", "sendgrid-elt"),
                                                      ("sslmode", "prefer")))  # fmt: skip
    with psycopg.connect(target.conninfo()) as conn:
        assert conn.execute("show application_name").fetchone() == ("sendgrid-elt",)
    tcp = PostgresTarget(host="db.example", params=(("keepalives_idle", "30"),))
    info = dict(psycopg.conninfo.conninfo_to_dict(tcp.conninfo()))
    assert info["keepalives"] == "1"
    assert info["keepalives_idle"] == "30"  # the connection's own value wins
    assert "keepalives=1" in tcp.sqlalchemy_url()
    # a host dropping packets fails a connection attempt in 10 s (libpq's default: never)
    assert info["connect_timeout"] == "10"
    assert "connect_timeout=10" in tcp.sqlalchemy_url()
    own = PostgresTarget(host="db.example", params=(("connect_timeout", "3"),))
    assert dict(psycopg.conninfo.conninfo_to_dict(own.conninfo()))["connect_timeout"] == "3"
    from sqlalchemy import create_engine

    engine = create_engine(dataclasses.replace(target).sqlalchemy_url())
    with engine.connect() as conn:
        assert conn.exec_driver_sql("show application_name").scalar() == "sendgrid-elt"
    engine.dispose()


def test_a_url_keeps_parameter_values_with_spaces() -> None:
    """libpq URLs decode ``%20``, not ``+``: ``options='-c a=b'`` must survive ``url()``."""
    from psycopg.conninfo import conninfo_to_dict

    target = PostgresTarget(host="h", params=(("options", "-c search_path=x,y"),
                                             ("sslrootcert", "/etc/my certs/ca.pem")))  # fmt: skip
    info = conninfo_to_dict(target.url())
    assert info["options"] == "-c search_path=x,y"
    assert info["sslrootcert"] == "/etc/my certs/ca.pem"
    assert set(target.params) <= set(PostgresTarget.from_url(target.url()).params)


def test_an_ipv6_host_makes_a_url_every_client_parses() -> None:
    """An IPv6 literal goes in brackets: SQLAlchemy (which Airflow's PostgresHook and dbt's
    engine builder read), libpq and :meth:`PostgresTarget.from_url` all get the host and port
    back, instead of ``int(':1:5432')`` failing in ``create_engine``."""
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = PostgresTarget(host="::1", port=6543, user="u", password="p w", dbname="d")
    parsed = make_url(target.sqlalchemy_url())
    assert (parsed.host, parsed.port, parsed.password) == ("::1", 6543, "p w")
    create_engine(target.sqlalchemy_url()).dispose()  # no connection: parsing only
    info = conninfo_to_dict(target.url())
    assert (info["host"], info["port"]) == ("::1", "6543")
    back = PostgresTarget.from_url(target.url())
    assert (back.host, back.port, back.password) == ("::1", 6543, "p w")
