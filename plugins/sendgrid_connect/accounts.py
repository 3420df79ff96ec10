"""What the reports found about the SendGrid account each connection reaches.

dbt owns the rule (``int_sendgrid__account_identities``): two connections reach one account when
their credentials answer ``GET /v3/user/username`` with the same user id and username, and a
connected tenant that lists an account among its subusers counts that account's sends and plan.
The page only reads dbt's findings in ``dim_sendgrid_tenants``: per tenant, the account its
credential reaches and the connection that already counts that account (for the list), and,
right after a credential is saved (before any transform has seen the new one), whether a
connection the reports already know reaches the same account or lists it among its subusers
(``dim_sendgrid_subusers``).
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from sendgrid_hook.account import AccountIdentity

log = logging.getLogger(__name__)

#: The tenant dimension: each tenant's SendGrid user id and username, as last extracted, and the
#: tenant that already counts its account (``duplicate_of_tenant_id``, ``subuser_of_tenant_id``).
TENANTS = "dim_sendgrid_tenants"
_COLUMNS = ("tenant_id", "sendgrid_user_id", "sendgrid_username", "duplicate_of_tenant_id",
            "subuser_of_tenant_id", "is_removed")  # fmt: skip
#: The parents' subuser inventory (``GET /v3/subusers``): which tenant lists which account.
SUBUSERS = "dim_sendgrid_subusers"
_SUBUSER_COLUMNS = ("tenant_id", "subuser_id", "subuser_username", "is_deleted")


class Finding(NamedTuple):
    """What the reports found about one tenant's account."""

    account: AccountIdentity | None  # the account its credential reached at the last extract
    duplicate_of: str | None  # the connection made first to the same account
    subuser_of: str | None  # the connected tenant that lists the account as a subuser


class CountedBy(NamedTuple):
    """Another connection that already counts the account a credential reaches."""

    account: AccountIdentity  # the account the credential reaches
    tenant_id: str  # the connection that counts it
    as_subuser: bool  # False: it reaches the same account; True: it lists it as a subuser


def _dimension(name: str = TENANTS, columns: tuple[str, ...] = _COLUMNS) -> Any:
    from sqlalchemy import column, table

    from sendgrid_elt.settings import MARTS_SCHEMA

    return table(name, *map(column, columns), schema=MARTS_SCHEMA)


def findings(conn: Any) -> dict[str, Finding]:
    """Tenant -> its account and the tenant that already counts it (current connections).

    dbt's findings; empty before the first transform, or while the marts predate the columns.
    """
    from sqlalchemy import select

    dim = _dimension()
    query = select(*(dim.c[name] for name in _COLUMNS[:-1])).where(dim.c.is_removed.is_not(True))
    try:
        rows = conn.execute(query).all()
    except Exception as exc:  # no marts yet: nothing to say
        log.info("no account findings to show: %s", type(exc).__name__)
        return {}
    return {
        tenant: Finding(
            AccountIdentity(int(user_id), str(username)) if user_id is not None else None,
            first,
            parent,
        )
        for tenant, user_id, username, first, parent in rows
    }


def reached_by(conn: Any, conn_id: str, account: AccountIdentity) -> str | None:
    """Another current connection the reports know to reach ``account``, or ``None``.

    The one that counts the account (not itself a duplicate) comes first; a deleted connection
    (``is_removed``) never answers. ``None`` before the first transform.
    """
    from sqlalchemy import select

    dim = _dimension()
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
    return _first_tenant(conn, query, "account")


def listed_as_subuser_by(conn: Any, conn_id: str, account: AccountIdentity) -> str | None:
    """A current connection whose account lists ``account`` among its subusers, or ``None``.

    Same id and username in ``dim_sendgrid_subusers`` (not deleted there); a deleted
    connection never answers, one that counts its own account comes first. ``None`` before the
    first transform.
    """
    from sqlalchemy import select

    dim, subs = _dimension(), _dimension(SUBUSERS, _SUBUSER_COLUMNS)
    query = (
        select(subs.c.tenant_id)
        .join(dim, dim.c.tenant_id == subs.c.tenant_id)
        .where(
            subs.c.subuser_id == account.user_id,
            subs.c.subuser_username == account.username,
            subs.c.is_deleted.is_not(True),
            subs.c.tenant_id != conn_id,
            dim.c.is_removed.is_not(True),
        )
        .order_by(dim.c.duplicate_of_tenant_id.is_not(None), subs.c.tenant_id)
        .limit(1)
    )
    return _first_tenant(conn, query, "subuser")


def _first_tenant(conn: Any, query: Any, what: str) -> str | None:
    """The tenant ``query`` finds; ``None`` when the marts are missing or predate its columns."""
    try:
        return conn.execute(query).scalar()
    except Exception as exc:  # no marts yet: nothing to say
        log.info("no %s matches to show: %s", what, type(exc).__name__)
        conn.rollback()  # the connection stays usable for the next lookup
        return None


def counted_by(conn: Any, conn_id: str, account: AccountIdentity) -> CountedBy | None:
    """The connection the reports already count ``account`` under, or ``None``.

    One reaching the same account comes first, else one listing it as a subuser.
    """
    if first := reached_by(conn, conn_id, account):
        return CountedBy(account, first, as_subuser=False)
    if parent := listed_as_subuser_by(conn, conn_id, account):
        return CountedBy(account, parent, as_subuser=True)
    return None
