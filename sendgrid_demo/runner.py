"""Run the DAGs of ``dags/`` for real with ``dag.test()``, showing task progress as it happens.

Airflow's own log lines go to a file (the terminal shows one line per finished task, and one
per failed try that Airflow will retry, read from the metadata database by a watcher thread
while the run executes); each task's log is written where the Airflow UI reads it
(:mod:`sendgrid_demo.task_logs`). :func:`report` prints a run's outcome, naming each failed
tenant of an extract run with its reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sendgrid_demo.console import say
from sendgrid_elt.settings import DAGS_DIR, EXTRACT_DAG_ID

Printer = Callable[[str], None]


@dataclass
class DagResult:
    """Outcome of one DAG run."""

    dag_id: str
    state: str
    seconds: float
    tasks: dict[str, str] = field(default_factory=dict)
    run_id: str = ""

    @property
    def failed_tasks(self) -> list[str]:
        """Task (and map index) labels that did not succeed or skip."""
        return [k for k, v in self.tasks.items() if v not in ("success", "skipped")]


def load_dags(*dag_ids: str) -> dict[str, Any]:
    """Parse ``dags/`` once and return the requested DAGs."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    missing = [d for d in dag_ids if d not in bag.dags]
    if missing:
        raise LookupError(f"DAGs {missing} not found; import errors: {bag.import_errors}")
    return {d: bag.dags[d] for d in dag_ids}


def without_retries(dag: Any) -> Any:
    """Make every task of ``dag`` fail at its first failed try (``retries = 0``); return it.

    For a one-shot command: ``dag.test()`` honours the retry delays (the extract's first is a
    minute, then doubling), so a failure would otherwise hold the terminal for many minutes
    before it says anything. Running the command again resumes from the saved state.
    """
    for task in dag.tasks:
        task.retries = 0
    return dag


def _label(ti: Any) -> str:
    if ti.map_index < 0:
        return str(ti.task_id)
    return f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]"


def _next_try_at(ti: Any, dag: Any) -> dt.datetime | None:
    """When Airflow runs the failed ``ti`` again (``None`` when it cannot be told)."""
    with contextlib.suppress(Exception):
        if getattr(ti, "task", None) is None and dag is not None:
            ti.task = dag.get_task(ti.task_id)  # the delays are the task's settings
        return ti.next_retry_datetime()
    return None


def retry_line(label: str, try_number: int, tries: int, at: dt.datetime | None) -> str:
    """The terminal's line for a failed try that Airflow retries (``at``: the next try, UTC)."""
    when = ""
    if at is not None:
        wait = max(0.0, (at - dt.datetime.now(dt.UTC)).total_seconds())
        when = f"; next try at {at.astimezone(dt.UTC):%H:%M:%S} UTC (in {wait:.0f}s)"
    return f"    .. {label:<52} {'up_for_retry':<10} try {try_number} of {tries} failed{when}"


class _Watcher(threading.Thread):
    """Print each task instance of the newest run of ``dag_id`` once it has finished.

    And each failed try that Airflow will retry (``up_for_retry``), with when it retries.
    """

    FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
    RETRYING = "up_for_retry"

    def __init__(self, dag_id: str, after: float, printer: Printer, dag: Any = None) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.after, self.printer, self.dag = dag_id, after, printer, dag
        self.done = threading.Event()
        self.seen: set[str] = set()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.poll()
        self.poll()

    def poll(self) -> None:
        from airflow.models import DagRun, TaskInstance
        from airflow.utils.session import create_session

        with contextlib.suppress(Exception), create_session() as session:
            run = (
                session.query(DagRun)
                .filter(DagRun.dag_id == self.dag_id)
                .order_by(DagRun.id.desc())
                .first()
            )
            if run is None or run.start_date is None or run.start_date.timestamp() < self.after:
                return
            tis = session.query(TaskInstance).filter(
                TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == run.run_id
            )
            for line in self.lines(tis.order_by(TaskInstance.end_date)):
                self.printer(line)

    def lines(self, tis: Any) -> list[str]:
        """The lines not printed yet for these task instances.

        A finished task instance gets one line, a failed try that is retried one per try.
        """
        out = []
        for ti in tis:
            label, state = _label(ti), str(ti.state)
            if state == self.RETRYING and f"{label}#{ti.try_number}" not in self.seen:
                self.seen.add(f"{label}#{ti.try_number}")
                at = _next_try_at(ti, self.dag)
                out.append(retry_line(label, ti.try_number, ti.max_tries + 1, at))
            elif state in self.FINISHED and label not in self.seen:
                self.seen.add(label)
                took = (ti.end_date - ti.start_date).total_seconds() if ti.start_date else 0
                mark = "ok " if state in ("success", "skipped") else "!! "
                out.append(f"    {mark}{label:<52} {state:<10} {took:5.1f}s")
        return out


def run_dag(
    dag: Any,
    conf: dict[str, Any] | None = None,
    *,
    logical_date: dt.datetime | None = None,
    printer: Printer = say,
) -> DagResult:
    """Run ``dag`` in this process (real Airflow task execution) and return its outcome.

    ``logical_date``: where the run's data interval ends (the as-of instant of the extract
    run); ``None``: now.
    """
    from sendgrid_demo.task_logs import task_log_files

    started, wall = time.monotonic(), time.time()
    watcher = _Watcher(dag.dag_id, wall - 1, printer, dag)
    watcher.start()
    try:
        with task_log_files():  # dag.test() writes none: the UI would say "Log file not found"
            run = dag.test(run_conf=conf or {}, logical_date=logical_date)
    finally:
        watcher.done.set()
        watcher.join(timeout=10)
    tasks = {_label(ti): str(ti.state) for ti in run.get_task_instances()}
    return DagResult(dag.dag_id, str(run.state), time.monotonic() - started, tasks, run.run_id)


def report(result: DagResult, printer: Printer = say) -> None:
    """Print a run's outcome: its state and each task that did not succeed.

    For an extract run, also each tenant that did not end ``ok``, with its reason (from
    ``extract_run_tenants``).
    """
    failed, took = result.failed_tasks, f"{result.seconds:.0f}s"
    printer(f"    {result.dag_id}: {result.state} in {took}, {len(result.tasks)} tasks")
    for label in failed:
        printer(f"    ! {label}: {result.tasks[label]}")
    if result.dag_id == EXTRACT_DAG_ID:  # a batch task names its tenants; say which ones failed
        for line in tenant_outcomes(result.run_id):
            printer(f"    ! {line}")


def tenant_outcomes(run_id: str) -> list[str]:
    """``tenant: status (error)`` of every tenant of the extract run that did not end ``ok``."""
    from sendgrid_elt.batches import OK, run_tenants

    try:
        rows = run_tenants(run_id)
    except Exception:
        return []
    return [
        f"tenant {tenant}: {row['status']}" + (f" ({row['error']})" if row["error"] else "")
        for tenant, row in sorted(rows.items())
        if row["status"] != OK
    ]
