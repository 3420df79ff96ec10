"""What the reports found about the SendGrid account each connection reaches.

dbt owns the rule (``int_sendgrid__account_identities``): two connections reach one account when
their credentials answer ``GET /v3/user/username`` with the same user id and username, and a
connected tenant that lists an account among its subusers counts that account's sends and plan.
The page only reads dbt's findings: per tenant, the connection that already counts its account
(for the Health cell), and, right after a credential is saved, whether a connection the reports
already know reaches the same account (before any transform has seen the new one).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sendgrid_hook.account import AccountIdentity

log = logging.getLogger(__name__)

#: The reporting model naming, per tenant, the tenant that already counts its account.
OVERVIEW = "rpt_sendgrid_utilization_overview"
#: The tenant dimension: each tenant's SendGrid user id and username, as last extracted.
TENANTS = "dim_sendgrid_tenants"


def counted_under(conn: Any) -> dict[str, tuple[str | None, str | None]]:
    """Tenant -> (duplicate of, subuser of): the tenant that already counts its account.

    dbt's finding; empty before the first transform, or while the marts predate the columns.
    """
    from sqlalchemy import column, or_, select, table

    from sendgrid_elt.settings import MARTS_SCHEMA

    names = ("tenant_id", "duplicate_of_tenant_id", "subuser_of_tenant_id")
    overview = table(OVERVIEW, *map(column, names), schema=MARTS_SCHEMA)
    query = select(*overview.c).where(
        or_(
            overview.c.duplicate_of_tenant_id.is_not(None),
            overview.c.subuser_of_tenant_id.is_not(None),
        )
    )
    try:
        return {tenant: (first, parent) for tenant, first, parent in conn.execute(query)}
    except Exception as exc:  # no marts yet: nothing to say
        log.info("no duplicate or subuser findings to show: %s", type(exc).__name__)
        return {}


def reached_by(conn: Any, conn_id: str, account: AccountIdentity) -> str | None:
    """Another current connection the reports know to reach ``account``, or ``None``.

    The one that counts the account (not itself a duplicate) comes first; a deleted connection
    (``is_removed``) never answers. ``None`` before the first transform.
    """
    from sqlalchemy import column, select, table

    from sendgrid_elt.settings import MARTS_SCHEMA

    names = ("tenant_id", "sendgrid_user_id", "sendgrid_username", "duplicate_of_tenant_id",
             "is_removed")  # fmt: skip
    dim = table(TENANTS, *map(column, names), schema=MARTS_SCHEMA)
    query = (
        select(dim.c.tenant_id)
        .where(
            dim.c.sendgrid_user_id == account.user_id,
            dim.c.sendgrid_username == account.username,
            dim.c.tenant_id != conn_id,
            dim.c.is_removed.is_not(True),
        )
        .order_by(dim.c.duplicate_of_tenant_id.is_not(None), dim.c.tenant_id)
        .limit(1)
    )
    try:
        return conn.execute(query).scalar()
    except Exception as exc:  # no marts yet: nothing to say
        log.info("no account matches to show: %s", type(exc).__name__)
        return None
