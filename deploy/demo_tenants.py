"""Register the simulator's organizations as ``sendgrid`` Airflow connections (demo tenants).

Used by the compose service ``demo-tenants`` (profile ``demo``), by the distributed-topology
test and by the benchmark. A tenant is a ``sendgrid`` connection whose id is the simulator's
tenant id with ``-`` replaced by ``_`` (so it also works as ``AIRFLOW_CONN_<ID>``), whose host is
the simulator and whose password is the tenant's API key.

Two ways to hand them to Airflow (``sendgrid_elt.tenants`` discovers both):

* ``register``: store them in the metadata database (``airflow connections import``) and list
  their ids in the Variable ``sendgrid_tenants`` (merged with the ids already there);
* ``env``: print ``AIRFLOW_CONN_<ID>=<json>`` lines (for an env file or a process environment).

``python -m deploy.demo_tenants register --simulator-url http://sendgrid-simulator:8025``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sendgrid_hook.constants import SIMULATOR_PORT

from sendgrid_elt.settings import CONN_TYPE, TENANTS_VARIABLE


def conn_id_for(tenant_id: str, prefix: str = "") -> str:
    """Airflow connection id of a simulator tenant (``t01-acme-retail`` -> ``t01_acme_retail``)."""
    return f"{prefix}{tenant_id}".replace("-", "_").lower()


def fetch_accounts(simulator_url: str, timeout: float = 60) -> dict:
    """The simulator's accounts document (``GET /__sim/accounts``), waiting until it answers."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            r = requests.get(f"{simulator_url.rstrip('/')}/__sim/accounts", timeout=10)
            r.raise_for_status()
            return r.json()
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def tenant_connections(
    accounts: Mapping[str, Any],
    simulator_url: str,
    *,
    key: str = "full",
    prefix: str = "",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{conn_id: connection dict}`` for every tenant of the accounts document."""
    out: dict[str, dict[str, Any]] = {}
    for tenant in accounts["tenants"]:
        out[conn_id_for(tenant["tenant_id"], prefix)] = {
            "conn_type": CONN_TYPE,
            "host": simulator_url.rstrip("/"),
            "password": tenant["api_keys"][key],
            "description": f"{tenant['name']} (SendGrid simulator tenant {tenant['tenant_id']})",
            "extra": {
                "auth_type": "api_key",
                "display_name": tenant["name"],
                **dict(extra or {}),
            },
        }
    return out


def as_env(connections: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` variables holding the connections as JSON."""
    return {f"AIRFLOW_CONN_{cid.upper()}": json.dumps(c) for cid, c in connections.items()}


def register(
    connections: Mapping[str, Mapping[str, Any]],
    *,
    airflow: Sequence[str] = ("airflow",),
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Store the connections in the metadata DB and list them in ``sendgrid_tenants``.

    Returns:
        The tenant ids now listed in the Variable.
    """
    env = dict(os.environ if env is None else env)
    payload = {
        cid: {**c, "extra": json.dumps(c.get("extra") or {})} for cid, c in connections.items()
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(payload, fh)
        path = fh.name
    try:
        _run([*airflow, "connections", "import", "--overwrite", path], env)
    finally:
        os.unlink(path)
    ids = set(connections) | set(_current_tenants(airflow, env))
    tenant_ids = sorted(ids)
    _run([*airflow, "variables", "set", TENANTS_VARIABLE, json.dumps(tenant_ids)], env)
    return tenant_ids


def _current_tenants(airflow: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Ids already listed in the Variable.

    Read through ``airflow variables export``, whose file output is not mixed with log lines
    like ``variables get`` can be.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "variables.json")
        _run([*airflow, "variables", "export", path], env)
        with open(path) as fh:
            raw = json.load(fh).get(TENANTS_VARIABLE)
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(i) for i in raw]
    try:
        return [str(i) for i in json.loads(raw)]
    except ValueError:
        return str(raw).replace(",", " ").split()


def _run(argv: Sequence[str], env: Mapping[str, str]) -> None:
    result = subprocess.run(list(argv), env=dict(env), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])} failed ({result.returncode}): {result.stderr[-2000:]}"
        )


def build_parser() -> argparse.ArgumentParser:
    """Command-line parser (``register`` / ``env``)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.demo_tenants", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("register", "store in the metadata DB"), ("env", "print env lines")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--simulator-url", default=f"http://127.0.0.1:{SIMULATOR_PORT}")
        p.add_argument("--key", choices=("full", "restricted"), default="full")
        p.add_argument("--prefix", default="", help="prefix of the connection ids")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    accounts = fetch_accounts(args.simulator_url)
    conns = tenant_connections(accounts, args.simulator_url, key=args.key, prefix=args.prefix)
    if args.command == "env":
        for name, value in as_env(conns).items():
            print(f"{name}={value}")
        return 0
    ids = register(conns)
    print(f"registered {len(conns)} demo tenants; {TENANTS_VARIABLE} = {ids}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
