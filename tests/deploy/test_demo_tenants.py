"""deploy/demo_tenants.py against the simulator and a real (isolated) Airflow metadata DB."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from deploy.demo_tenants import (
    _current_tenants,
    as_env,
    conn_id_for,
    register,
    tenant_connections,
)


def test_connections_from_the_simulator_accounts() -> None:
    from sendgrid_simulator.testing import run_simulator

    with run_simulator(seed=42, scale="tiny") as sim:
        conns = tenant_connections(sim.accounts, sim.base_url)
    assert sorted(conns) == ["t01_acme_retail", "t02_bluebird_bakery", "t03_cedar_free"]
    acme = conns["t01_acme_retail"]
    assert acme["conn_type"] == "sendgrid"
    assert acme["host"] == sim.base_url
    assert acme["password"] == sim.accounts["tenants"][0]["api_keys"]["full"]
    assert acme["extra"]["auth_type"] == "api_key"
    env = as_env(conns)
    assert json.loads(env["AIRFLOW_CONN_T01_ACME_RETAIL"]) == acme
    assert conn_id_for("t01-acme-retail", "b0007_") == "b0007_t01_acme_retail"


def test_register_stores_connections_and_the_tenants_variable(airflow_home) -> None:
    """Runs the real ``airflow connections import`` / ``variables set`` of the demo profile."""
    from sendgrid_simulator.testing import run_simulator

    airflow = (sys.executable, "-m", "airflow")
    with run_simulator(seed=42, scale="tiny") as sim:
        conns = tenant_connections(sim.accounts, sim.base_url)
    env = os.environ.copy()
    subprocess.run([*airflow, "variables", "set", "sendgrid_tenants", '["other"]'], env=env,
                   check=True, capture_output=True)  # fmt: skip
    ids = register(conns, airflow=airflow, env=env)
    assert ids == sorted([*conns, "other"])
    got = subprocess.run([*airflow, "connections", "get", "t02_bluebird_bakery", "-o", "json"],
                         env=env, check=True, capture_output=True, text=True)  # fmt: skip
    stored = json.loads(got.stdout[got.stdout.index("[{") :])[0]  # after any log lines
    assert stored["conn_type"] == "sendgrid"
    assert stored["host"] == sim.base_url
    assert stored["extra_dejson"]["auth_type"] == "api_key"
    assert _current_tenants(airflow, env) == ids
