"""The fault matrix's registry of rows (:data:`CASES`) and what the rows share."""

from __future__ import annotations

from collections.abc import Callable

from sendgrid_elt.settings import STAGING_SCHEMA
from tests.fault_matrix.harness import Matrix

BOUNCES = "/v3/suppression/bounces"
S = STAGING_SCHEMA
CASES: dict[str, tuple[str, Callable[[Matrix], str]]] = {}


def case(name: str, area: str = "records") -> Callable:
    """Register a row of the matrix."""

    def register(fn: Callable[[Matrix], str]) -> Callable[[Matrix], str]:
        CASES[name] = (area, fn)
        return fn

    return register


def health_text(m: Matrix, conn_id: str) -> str:
    """The health of a connection as a matrix outcome (status, reason, alerts)."""
    h = m.health(conn_id)
    return f"health {h.get('status')} ({h.get('reason')}), {h.get('alerts_sent')} alert(s)"


def others_loaded(ends: dict[str, str], *faulty: str) -> None:
    """Assert every tenant but the ``faulty`` ones loaded."""
    for conn_id, end in ends.items():
        if conn_id not in faulty:
            assert end == "loaded", (conn_id, end)


def slug(name: str) -> str:
    """A pytest id for a case name (letters, digits and dashes)."""
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
