"""Register the simulated organizations as ``sendgrid`` Airflow connections.

Each demo run picks the same roles from the simulator's accounts (same seed, same tenants):

* ``oauth``: connected through the authorization-code flow with PKCE, as the Connect page does;
* ``revoked``: its API key is revoked in the simulator before the run (the reconnect path);
* ``restricted``: a restricted key missing some scopes (degraded, other streams still load);
* every other tenant: a read key with all the scopes.

Connections are stored in the demo's metadata database (so ``make airflow`` shows them in the
UI) and their ids listed in the ``sendgrid_tenants`` Variable, which is how a run finds
database-stored connections.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from sendgrid_demo.oauth_consent import authorize_with_consent
from sendgrid_elt.settings import CONN_TYPE

Role = Literal["api_key", "oauth", "revoked", "restricted"]
DEMO_REDIRECT_URI = "http://127.0.0.1:8080/sendgrid/oauth/callback"


@dataclass(frozen=True)
class DemoTenant:
    """One simulated organization and how the demo connects it."""

    conn_id: str
    name: str
    role: Role
    account: dict[str, Any]


def conn_id_for(tenant_id: str) -> str:
    """``t01-acme-retail`` → ``sendgrid_acme_retail``."""
    slug = re.sub(r"^t\d+-", "", tenant_id)
    return "sendgrid_" + re.sub(r"[^a-z0-9]+", "_", slug.lower()).strip("_")


def assign_roles(accounts: dict[str, Any]) -> list[DemoTenant]:
    """Give the first tenants the showcase roles; the rest connect with a full read key."""
    showcase: list[Role] = ["api_key", "oauth", "restricted", "revoked"]
    tenants = accounts["tenants"]
    out = []
    for index, account in enumerate(tenants):
        role: Role = showcase[index] if index < len(showcase) and len(tenants) > 3 else "api_key"
        out.append(DemoTenant(conn_id_for(account["tenant_id"]), account["name"], role, account))
    return out


def connection_fields(tenant: DemoTenant, base_url: str) -> dict[str, Any]:
    """Fields of the Airflow connection for one tenant (secrets included: store, never print)."""
    extra: dict[str, Any] = {"display_name": tenant.name, "subusers": "all"}
    password = None
    if tenant.role == "oauth":
        oauth = tenant.account["oauth"]
        token = authorize_with_consent(
            authorize_url=f"{base_url}/oauth/authorize",
            token_url=f"{base_url}/oauth/token",
            client_id=oauth["client_id"],
            client_secret=oauth["client_secret"],
            redirect_uri=DEMO_REDIRECT_URI,
            login=oauth["login"],
            password=oauth["password"],
        )
        extra |= {
            "auth_type": "oauth2",
            "client_id": oauth["client_id"],
            "client_secret": oauth["client_secret"],
            "refresh_token": token["refresh_token"],
            "token_url": f"{base_url}/oauth/token",
        }
    else:
        kind = "restricted" if tenant.role == "restricted" else "full"
        extra["auth_type"] = "api_key"
        password = tenant.account["api_keys"][kind]
    return {
        "conn_id": tenant.conn_id,
        "conn_type": CONN_TYPE,
        "description": tenant.name,
        "host": base_url,
        "password": password,
        "extra": json.dumps(extra),
    }


def register(tenants: list[DemoTenant], base_url: str) -> None:
    """Create or replace the demo tenants' connections; add their ids to ``sendgrid_tenants``.

    Other connections and the ids a user listed in the Variable are left alone.
    """
    from airflow.models import Connection, Variable
    from airflow.utils.session import create_session

    from sendgrid_elt.settings import TENANTS_VARIABLE
    from sendgrid_elt.tenants import stored_tenant_ids

    fields = [connection_fields(t, base_url) for t in tenants]
    with create_session() as session:
        ids = [f["conn_id"] for f in fields]
        session.query(Connection).filter(Connection.conn_id.in_(ids)).delete()
        session.add_all(Connection(**f) for f in fields)
    # A stored rotated OAuth token derived from an older refresh token is superseded by the
    # new one automatically (the hook's token store compares fingerprints).
    kept = stored_tenant_ids()  # a failed read is an error, never "no ids" written back
    Variable.set(TENANTS_VARIABLE, json.dumps(sorted({*kept, *(t.conn_id for t in tenants)})))


def revoke_showcase_keys(sim: Any, tenants: list[DemoTenant]) -> list[DemoTenant]:
    """Revoke the ``revoked`` tenant's key in the simulator (the reconnect story); return them."""
    revoked = [t for t in tenants if t.role == "revoked"]
    for t in revoked:
        sim.control.revoke_key(t.account["api_keys"]["full"])
    return revoked
