"""Probe DAGs of ``bench/bench_transform.py --overhead``: what one task instance costs.

``probe_worker_*``: no-op Python tasks (each runs in a worker process). ``probe_trigger_*``:
no-op tasks that start and end in the triggerer, as the transform's model tasks do.
``*_flat``: 40 independent tasks; ``*_chain``: 6 in a row (one dependency step's latency).
The triggerer imports :class:`NoopTrigger` from this module (the bench puts this folder on
``PYTHONPATH``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, BaseOperator, chain, task
from airflow.triggers.base import BaseTrigger, StartTriggerArgs, TaskSuccessEvent

FLAT, CHAIN = 40, 6
#: Import path of this module for the triggerer (Airflow imports DAG files under another name).
MODULE = "transform_overhead_probe"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class NoopTrigger(BaseTrigger):
    """Ends its task at once, in the triggerer."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{MODULE}.NoopTrigger", {})

    async def run(self):
        yield TaskSuccessEvent()


class TriggerNoop(BaseOperator):
    """A task that never needs a worker."""

    start_from_trigger = True
    start_trigger_args = StartTriggerArgs(
        trigger_cls=f"{MODULE}.NoopTrigger", next_method="execute", trigger_kwargs={}
    )

    def execute(self, context: Any, event: Any = None) -> None:
        return None


def _worker(task_id: str):
    @task(task_id=task_id)
    def noop() -> None:
        return None

    return noop()


for kind, make in (("worker", _worker), ("trigger", lambda i: TriggerNoop(task_id=i))):
    with DAG(f"probe_{kind}_flat", schedule=None, start_date=START, catchup=False,
             max_active_tasks=FLAT):  # fmt: skip
        for i in range(FLAT):
            make(f"t{i:02d}")
    with DAG(f"probe_{kind}_chain", schedule=None, start_date=START, catchup=False):
        chain(*[make(f"t{i}") for i in range(CHAIN)])
