"""Run the DAGs of ``dags/`` for real with ``dag.test()``, showing task progress as it happens.

Airflow's own log lines go to a file (the terminal shows one line per finished task, read
from the metadata database by a watcher thread while the run executes); each task's log is
written where the Airflow UI reads it (:mod:`sendgrid_demo.task_logs`).
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
from sendgrid_elt.settings import DAGS_DIR

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


def _label(ti: Any) -> str:
    if ti.map_index < 0:
        return str(ti.task_id)
    return f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]"


class _Watcher(threading.Thread):
    """Print each task instance of the newest run of ``dag_id`` once it has finished."""

    FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})

    def __init__(self, dag_id: str, after: float, printer: Printer) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.after, self.printer = dag_id, after, printer
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
            for ti in tis.order_by(TaskInstance.end_date):
                label, state = _label(ti), str(ti.state)
                if state in self.FINISHED and label not in self.seen:
                    self.seen.add(label)
                    took = (ti.end_date - ti.start_date).total_seconds() if ti.start_date else 0
                    mark = "ok " if state in ("success", "skipped") else "!! "
                    self.printer(f"    {mark}{label:<52} {state:<10} {took:5.1f}s")


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
    watcher = _Watcher(dag.dag_id, wall - 1, printer)
    watcher.start()
    try:
        with task_log_files():  # dag.test() writes none: the UI would say "Log file not found"
            run = dag.test(run_conf=conf or {}, logical_date=logical_date)
    finally:
        watcher.done.set()
        watcher.join(timeout=10)
    tasks = {_label(ti): str(ti.state) for ti in run.get_task_instances()}
    return DagResult(dag.dag_id, str(run.state), time.monotonic() - started, tasks, run.run_id)
