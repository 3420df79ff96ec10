"""The fault matrix of issue 14: one function per row, each asserting the promised outcome.

Every case runs the real extract task body for three tenants (``acme``: Pro with subusers,
``bluebird``: Essentials, ``cedar``: free plan through a restricted key) against the simulator,
injects one fault, and returns the outcome a user sees; the harness then measures records lost
and tenants aborted (both must be 0). Rows marked ``hostile`` use the simulator's HTTP-level
switches from the ``hostile`` branch (redirects, trickling bodies, rate-limit headers, endless
pages, body cap, the per-tenant lock).

The rows live in ``cases_core.py``, ``cases_hostile.py`` and ``cases_tenant.py`` (imported
here, in the matrix's order), the registry in ``case_registry.py``.
"""

from __future__ import annotations

from tests.fault_matrix import cases_core, cases_hostile, cases_tenant
from tests.fault_matrix.case_registry import CASES, slug

__all__ = ["CASES", "cases_core", "cases_hostile", "cases_tenant", "slug"]
