"""The main job: simulated SendGrid organizations in, utilization marts and a dashboard out.

Steps: warehouse (configured or embedded) → simulator (``demo`` scale, free port) → isolated
Airflow home with one ``sendgrid`` connection per simulated tenant → the extract/load and
transform DAGs run for real (``dag.test()``) → summary, reconnect alert, dashboard.
Run twice: the second run is incremental. ``--advance-days N`` moves the simulated clock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from sendgrid_hook.display import human_instant, plural

from sendgrid_demo.airflow_home import DEMO_ALERT_RECIPIENTS, DEMO_DIR, configure
from sendgrid_demo.console import say
from sendgrid_elt.settings import EXTRACT_DAG_ID as EXTRACT_DAG
from sendgrid_elt.settings import TRANSFORM_DAG_ID as TRANSFORM_DAG

STATE_FILE = DEMO_DIR / "state.json"
DASHBOARD_FILE = DEMO_DIR / "dashboard.html"


def _step(text: str) -> None:
    say(f"\n==> {text}")


def current_clock() -> str:
    """The simulated today of the demo (fixed at the first run)."""
    state = json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}
    return str(state.get("clock", dt.datetime.now(dt.UTC).date().isoformat()))


def _clock(advance_days: int) -> str:
    """The simulated today, moved forward by ``--advance-days`` and remembered."""
    clock = dt.date.fromisoformat(current_clock()) + dt.timedelta(days=advance_days)
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps({"clock": clock.isoformat()}))
    return clock.isoformat()


def clock_note(clock: str, today: dt.date) -> str | None:
    """What a simulated today ahead of the wall clock's ``today`` does to the shown times.

    The marts are built as of the simulated day ("Data as of"); the pipeline stamps its syncs
    with the wall clock ("last successful sync"), so each tenant's data age reads the days
    ahead more than it is. ``None`` when the simulated today is not ahead.
    """
    ahead = (dt.date.fromisoformat(clock) - today).days
    if ahead <= 0:
        return None
    days = f"{ahead} {plural('day', ahead)}"
    return "\n".join(
        [
            f"    times are simulated: the simulated today is {days} ahead of the wall clock.",
            '    The marts and the dashboard\'s "Data as of" follow the simulated clock, sync',
            '    times ("last successful sync") the wall clock: each tenant\'s "Data age" reads',
            f"    {days} more than it is.",
        ]
    )


def _days_forward(text: str) -> int:
    days = int(text)
    if days < 0:
        raise argparse.ArgumentTypeError("the simulated clock only moves forward (0 or more days)")
    return days


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options of the demo."""
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=42, help="simulated data seed")
    parser.add_argument("--scale", default="demo", choices=["tiny", "demo", "large"])
    parser.add_argument(
        "--advance-days",
        type=_days_forward,
        default=0,
        help="move the simulated clock forward first (days, 0 or more)",
    )
    parser.add_argument("--dashboard", type=Path, default=DASHBOARD_FILE)
    return parser.parse_args(argv)


LOG_FILE = DEMO_DIR / "demo.log"


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the process exit code (Airflow's own logs go to the log file)."""
    args = parse_args(argv)
    from sendgrid_demo.console import run_logged

    return run_logged(lambda: _run(args), LOG_FILE, "The demo")


def _run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    _step("Airflow home (isolated, .local/demo/airflow)")
    configure()  # before anything imports airflow

    from sendgrid_demo.runner import report, run_dag
    from sendgrid_demo.simulator_process import SimulatorProcess
    from sendgrid_demo.smtp_sink import SMTP_CONN_ENV, SmtpSink, message_text
    from sendgrid_demo.summary import (
        format_slowest,
        format_table,
        read_overview,
        read_reconnect_needed,
    )
    from sendgrid_demo.tenants import assign_roles, register, revoke_showcase_keys
    from sendgrid_elt.warehouse import resolve_warehouse

    _step("Warehouse")
    warehouse = resolve_warehouse(announce=False)
    say(f"    {warehouse.describe()}")
    clock = _clock(args.advance_days)
    _step(f"SendGrid simulator (seed {args.seed}, scale {args.scale}, simulated today {clock})")
    note = clock_note(clock, dt.datetime.now(dt.UTC).date())
    if note:
        say(note)
    sink = SmtpSink().start()
    os.environ[SMTP_CONN_ENV] = sink.connection_json()
    with SimulatorProcess(
        seed=args.seed, scale=args.scale, clock=clock, log_file=DEMO_DIR / "simulator.log"
    ) as sim:
        say(f"    listening on {sim.base_url}")
        if sim.fallback:
            say(f"    note: {sim.fallback}")
        tenants = assign_roles(sim.control.accounts())
        register(tenants, sim.base_url)
        _set_alert_recipients(tenants)
        for t in tenants:
            say(f"    connection {t.conn_id:<28} {t.name:<24} ({_role_text(t.role)})")
        for t in revoke_showcase_keys(sim, tenants):
            say(f"    revoked {t.name}'s API key in SendGrid (the admin must reconnect)")

        dags = demo_dags()
        _step(f"Extract and load ({EXTRACT_DAG}); Airflow's log: {LOG_FILE}")
        # The run's data interval ends at the simulator's "now" (the simulated day at the real
        # time of day, as its Date header says): the marts are built as of the simulated day
        # (--advance-days moves both), not the wall clock; each run still gets its own run id.
        as_of = dt.datetime.fromisoformat(sim.control.clock()["now"])
        extract = run_dag(dags[EXTRACT_DAG], logical_date=as_of)
        report(extract)
        _step(f"Transform with dbt ({TRANSFORM_DAG}: one dbt build, a task per model)")
        transform = run_dag(dags[TRANSFORM_DAG])
        report(transform)
        _step("Slowest dbt models of this transform run")
        say(format_slowest(transform.run_id))
    sink.stop()

    _step("Utilization summary (sendgrid_marts.rpt_sendgrid_utilization_overview)")
    say(format_table(read_overview(warehouse.target.conninfo())))
    _step("Connections that need an admin (fct_sendgrid_connection_health)")
    for row in read_reconnect_needed(warehouse.target.conninfo()):
        since = human_instant(row["status_since_at"])
        say(f"    {row['display_name']}: needs reconnect since {since}: {row['last_error']}")
    _step("Reconnect alert e-mails sent during this run (one per transition, not per run)")
    for message in sink.received():
        say(f"    To: {message['To']}\n    Subject: {message['Subject']}")
        say("    " + message_text(message).replace("\n", "\n    "))
    if not sink.received():
        say("    none new (the alert went out when the tenant first broke; reminders follow)")
    _step("Dashboard")
    path = write_demo_dashboard(warehouse.target.conninfo(), args.dashboard)
    say(f"    {path}")
    if note:
        say(note)
    say(f"\nDone in {time.monotonic() - started:.0f}s.")
    say(next_steps(path))
    return 0 if transform.state == "success" else 1


def demo_dags() -> dict[str, Any]:
    """The extract and transform DAGs, each task failing at its first failed try.

    As ``make run`` does: ``dag.test()`` would wait out Airflow's retry delays (minutes) for a
    tenant it cannot reach, such as a connection a user added in ``make airflow`` pointing at a
    simulator that is gone. The tenant's batch fails at once, after its other tenants are
    extracted; the transform still builds every tenant's marts, and the run's report names the
    failed tenant with its error.
    """
    from sendgrid_demo.runner import load_dags, without_retries

    return {d: without_retries(dag) for d, dag in load_dags(EXTRACT_DAG, TRANSFORM_DAG).items()}


def write_demo_dashboard(conninfo: str, path: Path) -> Path:
    """Write the dashboard, its reconnect links on the Connect page of ``make airflow``'s UI."""
    from sendgrid_dashboard import write_dashboard
    from sendgrid_demo.airflow_ui import ui_url

    return write_dashboard(conninfo, path, connect_base_url=ui_url())


def next_steps(dashboard: Path) -> str:
    """What a new user can do after the demo (each line under 100 columns)."""
    return "\n".join(
        [
            "",
            "Next steps:",
            f"  open the dashboard:        file://{dashboard}",
            "  see it in the Airflow UI:  make airflow   (prints the URL, user and password)",
            "  your own SendGrid account: SENDGRID_API_KEY=SG... make run  (README: real account)",
            "  run again (incremental):   make demo    (ARGS=--advance-days 3 moves the clock)",
            "  start over / clean up:     make clean     (removes .venv and .local)",
        ]
    )


def _role_text(role: str) -> str:
    return {
        "api_key": "API key",
        "oauth": "OAuth 2.0, connected with PKCE",
        "restricted": "restricted key, some scopes missing",
        "revoked": "API key, about to be revoked",
    }[role]


def _set_alert_recipients(tenants: list) -> None:
    from airflow.models import Variable

    from sendgrid_elt.settings import ALERT_RECIPIENTS_VARIABLE

    Variable.set(ALERT_RECIPIENTS_VARIABLE, DEMO_ALERT_RECIPIENTS)


if __name__ == "__main__":
    sys.exit(main())
