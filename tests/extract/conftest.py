"""Fixtures of the extract/load tests: a tiny simulator, tenant connections, truth checks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from sendgrid_elt import catalog, stream_scopes
from sendgrid_elt.settings import STAGING_SCHEMA

#: conn id -> (simulator tenant index, key kind). acme: Pro with subusers; bluebird:
#: Essentials (no Marketing Campaigns); cedar: free plan, read through its restricted key.
TENANTS = {"acme": (0, "full"), "bluebird": (1, "full"), "cedar": (2, "restricted")}
#: Streams whose rows are about subusers (the ``subuser`` column holds the subuser).
SUBUSER_ROWS = {"subuser_credits", "subuser_stats", "subuser_stats_monthly"}


@pytest.fixture
def sim() -> Iterator[Any]:
    from sendgrid_simulator.testing import run_simulator

    with run_simulator(seed=42, scale="tiny") as running:
        yield running


def sim_today(sim: Any) -> dt.date:
    """The simulator's current day (its clock is pinned, never today's date)."""
    return dt.date.fromisoformat(sim.control.clock()["date"])


def connection_json(sim: Any, index: int, kind: str = "full", **extra: Any) -> str:
    tenant = sim.accounts["tenants"][index]
    return json.dumps(
        {
            "conn_type": "sendgrid",
            "host": sim.base_url,
            "password": tenant["api_keys"][kind],
            "extra": {
                "auth_type": "api_key",
                "display_name": tenant["name"],
                "max_retries": 8,
                "read_timeout": 2,
                **extra,
            },
        }
    )


@pytest.fixture
def tenant_conns(sim: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[int, str]]:
    for conn_id, (index, kind) in TENANTS.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(sim, index, kind))
    return TENANTS


def staged_keys(
    conn: psycopg.Connection, tenant_id: str, stream: str, subuser: str | None = ""
) -> list[str]:
    """Record keys of the current, not deleted rows (``subuser=None``: every subuser)."""
    where = "" if subuser is None else "and subuser = %(u)s"
    rows = conn.execute(
        f'select record_key from "{STAGING_SCHEMA}"."{stream}" where tenant_id = %(t)s '  # noqa: S608
        f"and is_current and deleted_at is null {where} order by 1",
        {"t": tenant_id, "u": subuser},
    ).fetchall()
    return [r[0] for r in rows]


def statuses(conn: psycopg.Connection, tenant_id: str, column: str = "status") -> dict[str, str]:
    """``{stream: status}`` of a tenant (or another ``stream_status`` column: ``detail``)."""
    from psycopg import sql

    query = sql.SQL("select stream, {} from {}.stream_status where tenant_id = %s").format(
        sql.Identifier(column), sql.Identifier(STAGING_SCHEMA)
    )
    return dict(conn.execute(query, (tenant_id,)).fetchall())


def assert_matches_truth(
    conn: psycopg.Connection, truth: dict, tenants: dict[str, tuple[int, str]]
) -> None:
    """Every tenant and stream: row counts and keys equal the simulator's ground truth."""
    problems = []
    for conn_id, (index, kind) in tenants.items():
        t = truth["tenants"][index]
        status = statuses(conn, conn_id)
        forbidden = set(t["restricted_key_forbidden_streams"]) if kind == "restricted" else set()
        # a key without every required scope cannot tell an unlicensed feature from its own gap
        restricted = any(catalog.get(n).feature is None for n in forbidden if n in catalog.BY_NAME)
        for name, entry in t["streams"].items():
            if name == "template" or (name == "scopes" and kind == "restricted"):
                continue
            expected = 0 if name in forbidden else entry["count"]
            keys = staged_keys(conn, conn_id, name, None if name in SUBUSER_ROWS else "")
            if len(keys) != expected:
                problems.append(f"{conn_id}.{name}: {len(keys)} rows, truth {expected}")
            if "primary_keys" in entry and name not in forbidden:
                want = sorted(str(k) for k in entry["primary_keys"])
                if keys != want:
                    problems.append(f"{conn_id}.{name}: keys differ")
            separate_key = catalog.BY_NAME.get(name) and (
                catalog.get(name).scope in stream_scopes.SEPARATE_KEY_SCOPES
            )
            want_status = (
                "missing_scope"
                if name in forbidden or ((restricted or separate_key) and not entry["licensed"])
                else ("ok" if entry["licensed"] else "not_licensed")
            )
            if status.get(name) != want_status:
                problems.append(f"{conn_id}.{name}: status {status.get(name)}, want {want_status}")
        for sub, facts in t["subusers"].items():
            for kind_name, count in facts["suppressions"].items():
                n = len(staged_keys(conn, conn_id, kind_name, sub))
                if n != count:
                    problems.append(f"{conn_id}.{kind_name}[{sub}]: {n} rows, truth {count}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def pg(pg_database: Any) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a fresh warehouse database with the staging schema."""
    from sendgrid_elt.staging_schema import ensure_schema_url

    ensure_schema_url(pg_database.sqlalchemy_url())
    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def acme(sim: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The real hook on the simulator's first tenant (short backoffs)."""
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    hook = SendGridHook(sendgrid_conn_id="acme", backoff_base=0.05, backoff_max=0.5)
    yield hook
    hook.close()


def extractor(hook: Any, pg: psycopg.Connection, run: str = "r1", **kw: Any) -> Any:
    """A ``TenantExtractor`` of ``acme`` with its granted scopes read (as ``run`` does)."""
    from sendgrid_elt.extract import TenantExtractor

    ex = TenantExtractor(hook, pg, "acme", run, **kw)
    ex.granted = hook.granted_scopes()
    return ex


def current_keys(
    pg: psycopg.Connection, stream: str, subuser: str | None = None
) -> dict[str, bool]:
    """``subuser/record_key -> deleted`` of acme's current rows (one subuser, or all)."""
    sql = (f'select subuser || \'/\' || record_key, deleted_at is not null from "{STAGING_SCHEMA}"'  # noqa: S608
           f'."{stream}" where tenant_id = \'acme\' and is_current')  # fmt: skip
    rows = dict(pg.execute(sql).fetchall())
    if subuser is None:
        return rows
    return {k: v for k, v in rows.items() if k.startswith(f"{subuser}/")}


@pytest.fixture
def hostile(sim: Any) -> Any:
    """The simulator's hostile switches (:mod:`sendgrid_simulator.hostile`), off afterwards."""
    from sendgrid_simulator.hostile import configure

    yield lambda **switches: configure(sim.base_url, **switches)
    configure(sim.base_url)


def subuser_names(pg: psycopg.Connection, hook: Any) -> list[str]:
    """Read acme's subusers (run ``r0``) and return their usernames, sorted."""
    assert extractor(hook, pg, run="r0").run_stream(catalog.get("subusers")).status == "ok"
    return [r[0] for r in pg.execute(
        f'select record->>\'username\' from "{STAGING_SCHEMA}".subusers '  # noqa: S608
        "where tenant_id = 'acme' order by 1")]  # fmt: skip


def stats_subusers(pg: psycopg.Connection) -> set[str]:
    """The subusers acme's current ``subuser_stats`` rows are about."""
    return {r[0] for r in pg.execute(
        f'select distinct subuser from "{STAGING_SCHEMA}".subuser_stats '  # noqa: S608
        "where tenant_id = 'acme' and is_current")}  # fmt: skip


def subuser_rows(pg: psycopg.Connection) -> dict[str, dict]:
    """Acme's current subuser records by username."""
    return {r[0]["username"]: r[0] for r in pg.execute(
        f'select record from "{STAGING_SCHEMA}".subusers '  # noqa: S608
        "where tenant_id = 'acme' and is_current and deleted_at is null")}  # fmt: skip


def subuser_rows_after(pg: psycopg.Connection, hook: Any) -> dict[str, dict]:
    """:func:`subuser_rows` after the subuser list is read again."""
    subuser_names(pg, hook)
    return subuser_rows(pg)


def spy_paths(monkeypatch: pytest.MonkeyPatch, hook: Any) -> list[str]:
    """The paths the hook is asked for from now on (its real requests still go out).

    A subuser looked up by name (``/v3/subusers?username=``) is listed as ``lookup``.
    """
    paths: list[str] = []
    real = hook.iter_record_pages

    def spied(path: str, **kwargs: Any) -> Any:
        paths.append("lookup" if "username" in (kwargs.get("params") or {}) else path)
        return real(path, **kwargs)

    monkeypatch.setattr(hook, "iter_record_pages", spied)
    return paths


@pytest.fixture
def two_a_chunk(monkeypatch: pytest.MonkeyPatch) -> catalog.StreamSpec:
    """``subuser_stats`` with chunks of two ids (the catalog's is ten; the tenant has three)."""
    import dataclasses

    spec = catalog.get("subuser_stats")
    assert spec.fan_out is not None
    small = dataclasses.replace(spec, fan_out=dataclasses.replace(spec.fan_out, chunk=2))
    monkeypatch.setitem(catalog.BY_NAME, spec.name, small)
    streams = tuple(small if s.name == spec.name else s for s in catalog.STREAMS)
    monkeypatch.setattr(catalog, "STREAMS", streams)
    return small
