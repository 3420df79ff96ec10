"""``make airflow``: the demo in the Airflow UI (``airflow standalone`` on the demo home).

Starts the warehouse and the simulator like ``make demo``, (re)registers the demo tenants
against this simulator, then runs ``airflow standalone`` until Ctrl-C. Sign in as
``admin`` / ``admin`` at http://localhost:8080.
"""

from __future__ import annotations

import os
import subprocess
import sys

from sendgrid_demo.airflow_home import ADMIN_USER, DEMO_DIR, configure


def main() -> int:
    """Serve the demo's Airflow; return the exit code of ``airflow standalone``."""
    configure()
    from sendgrid_demo.main import current_clock
    from sendgrid_demo.simulator_process import SimulatorProcess
    from sendgrid_demo.tenants import assign_roles, register
    from sendgrid_elt.warehouse import resolve_warehouse

    resolve_warehouse()
    with SimulatorProcess(
        seed=42, scale="demo", clock=current_clock(), log_file=DEMO_DIR / "simulator.log"
    ) as sim:
        register(assign_roles(sim.control.accounts()), sim.base_url)
        print(
            f"SendGrid simulator on {sim.base_url}; Airflow on http://localhost:8080 "
            f"(user {ADMIN_USER}, password admin). Ctrl-C stops everything.",
            flush=True,
        )
        try:
            return subprocess.call(
                [sys.executable, "-m", "airflow", "standalone"], env=os.environ.copy()
            )
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
