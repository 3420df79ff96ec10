"""What every fault-matrix case shares: three tenants, real runs, and the measures of a row.

A :class:`Matrix` drives the real extract task body (:func:`sendgrid_elt.extract_load.load_tenant`:
hook, HTTP to the simulator, loader, PostgreSQL, health and alerts) for the three tiny tenants,
then measures against the simulator's truth:

* **records lost**: records the truth has that are neither staged nor in the rejects table
  (a staged row the truth does not have, a duplicate, counts as a problem too);
* **tenants aborted**: tenant runs that ended in anything but "loaded" or "some streams failed"
  (a tenant whose other streams all loaded is not aborted);
* the outcome a user sees: ``stream_status``, ``rejects``, ``connection_health`` and its alerts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests

from sendgrid_elt.settings import STAGING_SCHEMA
from tests.extract.conftest import SUBUSER_ROWS, TENANTS, staged_keys

CLOCK = dt.date(2026, 11, 28)
S = STAGING_SCHEMA


@dataclass
class Row:
    """One line of the printed matrix."""

    outcome: str = ""
    lost: int = 0
    aborted: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Matrix:
    """One case's world: a simulator, a fresh warehouse, three tenant connections."""

    sim: Any
    warehouse: Any
    monkeypatch: Any
    tenants: dict[str, tuple[int, str]] = field(default_factory=lambda: dict(TENANTS))
    runs: dict[str, list[str]] = field(default_factory=dict)

    # ----- set-up -------------------------------------------------------------------------
    def connect(self, **extra: Any) -> None:
        """(Re)define the tenants' connections, with ``extra`` added to each one's extras."""
        for conn_id, (index, kind) in self.tenants.items():
            tenant = self.sim.accounts["tenants"][index]
            conn = {
                "conn_type": "sendgrid",
                "host": self.sim.base_url,
                "password": tenant["api_keys"][kind],
                "extra": {"auth_type": "api_key", "display_name": tenant["name"],
                          "max_retries": 8, "read_timeout": 2, **extra},
            }  # fmt: skip
            self.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))

    def tenant_id(self, conn_id: str) -> str:
        """The simulator's id of a tenant connection."""
        return self.sim.accounts["tenants"][self.tenants[conn_id][0]]["tenant_id"]

    def pick_key(
        self, conn_id: str, stream_path: str, i: int = 0, subuser: str = "", field: str = "email"
    ) -> str:
        """``field`` of the ``i``-th record of a list (``result`` or bare), read over the API."""
        index, kind = self.tenants[conn_id]
        key = self.sim.accounts["tenants"][index]["api_keys"][kind]
        headers = {"Authorization": f"Bearer {key}"}
        if subuser:
            headers["on-behalf-of"] = subuser
        r = requests.get(f"{self.sim.base_url}{stream_path}", params={"limit": 50},
                         headers=headers, timeout=30)  # fmt: skip
        r.raise_for_status()
        body = r.json()
        return (body["result"] if isinstance(body, dict) else body)[i][field]

    def hostile(self, **switches: Any) -> None:
        """Set the simulator's HTTP-level misbehaviour switches (``/__sim/hostile``)."""
        r = requests.post(f"{self.sim.base_url}/__sim/hostile", json=switches, timeout=30)
        assert r.status_code == 200, (
            f"the simulator has no hostile switches ({r.status_code}): this row needs the "
            "`hostile` branch (server-behaviour faults) merged"
        )

    # ----- runs ---------------------------------------------------------------------------
    def run(self, run_id: str, tenants: list[str] | None = None, **kwargs: Any) -> dict[str, str]:
        """Run the extract task body for each tenant; return how each tenant run ended."""
        from sendgrid_elt.extract_load import load_tenant, prepare_staging

        prepare_staging()
        ends = {}
        for conn_id in tenants or list(self.tenants):
            ends[conn_id] = self.run_one(conn_id, run_id, load_tenant, **kwargs)
        return ends

    def run_one(self, conn_id: str, run_id: str, load: Any, **kwargs: Any) -> str:
        """One tenant run: ``loaded``, ``streams failed: ...``, ``skipped: ...`` or ``aborted``."""
        from airflow.sdk.exceptions import AirflowSkipException

        from sendgrid_elt.stream_outcome import StreamsFailed

        try:
            load(conn_id, run_id, **kwargs)
            end = "loaded"
        except StreamsFailed as exc:
            end = "streams failed: " + ", ".join(
                sorted(n for n, o in exc.outcomes.items() if o.status == "error")
            )
        except AirflowSkipException as exc:
            end = f"skipped: {exc}"
        except Exception as exc:  # the measure: a tenant that did not run its streams
            end = f"aborted: {type(exc).__name__}: {str(exc)[:200]}"
        self.runs.setdefault(conn_id, []).append(end)
        return end

    @property
    def aborted(self) -> int:
        """Tenant runs that ended in neither loaded, some streams failed, nor skipped."""
        return sum(1 for ends in self.runs.values() for e in ends if e.startswith("aborted"))

    # ----- what a user sees ---------------------------------------------------------------
    @contextmanager
    def db(self) -> Iterator[psycopg.Connection]:
        """A connection to the case's warehouse."""
        with psycopg.connect(self.warehouse.conninfo(), autocommit=True) as conn:
            yield conn

    def status(self, conn_id: str, stream: str) -> dict[str, Any]:
        """The stream's ``stream_status`` row."""
        with self.db() as conn:
            cur = conn.execute(f"select * from {S}.stream_status where tenant_id = %s "  # noqa: S608
                               "and stream = %s", (conn_id, stream))  # fmt: skip
            row = cur.fetchone()
            names = [c.name for c in cur.description]
        return dict(zip(names, row, strict=True)) if row else {}

    def not_ok(self) -> dict[str, str]:
        """``tenant.stream -> status`` of every stream that did not end ``ok``/scope/licence."""
        with self.db() as conn:
            rows = conn.execute(
                f"select tenant_id, stream, status from {S}.stream_status "  # noqa: S608
                "where status not in ('ok', 'missing_scope', 'not_licensed') order by 1, 2"
            ).fetchall()
        return {f"{t}.{s}": st for t, s, st in rows}

    def rejects(self) -> list[dict[str, Any]]:
        """Rows of the rejects table."""
        with self.db() as conn:
            cur = conn.execute(f"select * from {S}.rejects order by tenant_id, stream, reason")  # noqa: S608
            names = [c.name for c in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def health(self, conn_id: str) -> dict[str, Any]:
        """The tenant's ``connection_health`` row."""
        with self.db() as conn:
            cur = conn.execute(f"select * from {S}.connection_health where tenant_id = %s",  # noqa: S608
                               (conn_id,))  # fmt: skip
            names = [c.name for c in cur.description]
            row = cur.fetchone()
        return dict(zip(names, row, strict=True)) if row else {}

    def record(self, conn_id: str, stream: str, key: str) -> Any:
        """The staged JSON of one current record of the parent account."""
        with self.db() as conn:
            row = conn.execute(
                f"select record from {S}.\"{stream}\" where tenant_id = %s and subuser = '' "  # noqa: S608
                "and record_key = %s and is_current",
                (conn_id, key),
            ).fetchone()
        return row[0] if row else None

    def lost(self) -> tuple[int, list[str]]:
        """Records of the truth neither staged nor rejected, and rows the truth lacks."""
        truth = self.sim.control.truth()
        rejected: dict[tuple[str, str, str], int] = {}
        for r in self.rejects():
            key = (r["tenant_id"], r["stream"], r["subuser"])
            rejected[key] = rejected.get(key, 0) + 1
        lost, notes = 0, []
        with self.db() as conn:
            for conn_id, (index, kind) in self.tenants.items():
                t = truth["tenants"][index]
                forbidden = (set(t["restricted_key_forbidden_streams"])
                             if kind == "restricted" else set())  # fmt: skip
                for name, entry in t["streams"].items():
                    if name == "template" or (name == "scopes" and kind == "restricted"):
                        continue
                    want = 0 if name in forbidden else entry["count"]
                    unit = None if name in SUBUSER_ROWS else ""
                    have = len(staged_keys(conn, conn_id, name, unit))
                    lost += self._compare(notes, f"{conn_id}.{name}", want, have,
                                          rejected.get((conn_id, name, ""), 0))  # fmt: skip
                for sub, facts in t["subusers"].items():
                    for name, want in facts["suppressions"].items():
                        have = len(staged_keys(conn, conn_id, name, sub))
                        lost += self._compare(notes, f"{conn_id}.{name}[{sub}]", want, have,
                                              rejected.get((conn_id, name, sub), 0))  # fmt: skip
        return lost, notes

    @staticmethod
    def _compare(notes: list[str], where: str, want: int, have: int, rejected: int) -> int:
        if have + rejected < want:
            notes.append(f"{where}: {want - have - rejected} lost")
            return want - have - rejected
        if have > want:
            notes.append(f"{where}: {have - want} rows the truth does not have")
        return 0


def timed(fn: Any) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    start = time.monotonic()
    out = fn()
    return out, time.monotonic() - start
