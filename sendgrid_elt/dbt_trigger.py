"""The trigger behind each dbt model task: it ends the task in the triggerer, with no worker.

All the node triggers of one DAG run share one poll of the ``dbt_build`` task (its state and its
``dbt_results`` XCom) per interval: 55 waiting tasks cost the API server two requests every
:data:`POLL_SECONDS`, not 110.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import (
    BaseTrigger,
    TaskFailedEvent,
    TaskSkippedEvent,
    TaskSuccessEvent,
    TriggerEvent,
)

from sendgrid_elt.dbt_results import PRODUCER_FINISHED, RESULTS_KEY, decide, outcome

#: Seconds between two polls of the build's results.
POLL_SECONDS = 2.0
#: Seconds between a trigger's outcome line and its end (see :meth:`DbtNodeTrigger.run`).
LOG_GRACE_SECONDS = 1.0
_polls: dict[tuple[str, str, str], tuple[float, str | None, dict | None]] = {}
_locks: dict[tuple[str, str, str], asyncio.Lock] = {}


def _fetch(dag_id: str, run_id: str, producer_task_id: str) -> tuple[str | None, dict | None]:
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.sdk.execution_time.xcom import XCom

    states = RuntimeTaskInstance.get_task_states(
        dag_id=dag_id, task_ids=[producer_task_id], run_ids=[run_id]
    )
    state = states.get(run_id, {}).get(producer_task_id)
    results = XCom.get_one(
        key=RESULTS_KEY, dag_id=dag_id, task_id=producer_task_id, run_id=run_id, map_index=-1
    )
    return (str(state) if state is not None else None), results


async def shared_poll(
    dag_id: str, run_id: str, producer_task_id: str, max_age: float = POLL_SECONDS
) -> tuple[str | None, dict | None]:
    """The build task's state and published results, fetched at most once per ``max_age``."""
    from asgiref.sync import sync_to_async

    key = (dag_id, run_id, producer_task_id)
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        cached = _polls.get(key)
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1], cached[2]
        state, results = await sync_to_async(_fetch)(dag_id, run_id, producer_task_id)
        now = time.monotonic()
        for stale in [k for k, v in _polls.items() if now - v[0] > 600]:
            _polls.pop(stale, None)
        _polls[key] = (now, state, results)
        return state, results


class DbtNodeTrigger(BaseTrigger):
    """Wait for a dbt node's result in the build and end its task with it.

    Args:
        producer_task_id: Task id of the ``dbt_build`` task.
        node_ids: The task's node (first) and its tests.
        poll_seconds: Interval between polls.
    """

    def __init__(
        self, producer_task_id: str, node_ids: list[str], poll_seconds: float = POLL_SECONDS
    ) -> None:
        super().__init__()
        self.producer_task_id = producer_task_id
        self.node_ids = list(node_ids)
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and keyword arguments (for the triggerer)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "producer_task_id": self.producer_task_id,
                "node_ids": self.node_ids,
                "poll_seconds": self.poll_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the node's result is known (or the task must rebuild), then end.

        The outcome line is logged :data:`LOG_GRACE_SECONDS` before the task ends: the trigger's
        log lines and its end reach the triggerer's supervisor over two sockets, and a line
        that arrives after the end no longer goes to the task's log file (Airflow closes it
        when the trigger finishes), so the grid would not show which dbt test failed.
        """
        event = await self._outcome()
        await asyncio.sleep(LOG_GRACE_SECONDS)
        yield event

    async def _outcome(self) -> TriggerEvent:
        ti = self.task_instance
        dag_id, run_id, try_number = ti.dag_id, ti.run_id, ti.try_number
        while True:
            state, results = await shared_poll(
                dag_id, run_id, self.producer_task_id, self.poll_seconds
            )
            decision = decide(try_number, state, results)
            if decision == "report":
                assert results is not None
                result = outcome(self.node_ids, results, state in PRODUCER_FINISHED)
                if result is not None:
                    return self._end(result.state, result.text, results)
            elif decision == "skip":
                return self._end("skipped", f"{self.producer_task_id} ended {state} "
                                 "before it published any dbt result", results)  # fmt: skip
            elif decision == "rebuild":
                event = await self._after_upstream(dag_id, run_id)
                if event is not None:
                    return event
            await asyncio.sleep(self.poll_seconds)

    def _end(self, state: str, text: str, results: dict | None) -> TriggerEvent:
        where = (results or {}).get("run_dir")
        suffix = f" (dbt artifacts of this run: {where})" if where else ""
        if state == "failed":
            self.log.error("%s%s", text, suffix)
            return TaskFailedEvent()
        self.log.info("%s%s", text, suffix)
        return TaskSuccessEvent() if state == "success" else TaskSkippedEvent()

    async def _after_upstream(self, dag_id: str, run_id: str) -> TriggerEvent | None:
        """Once the build and every upstream node task have ended: rebuild on a worker, or skip.

        Asks for the states afresh (not the shared poll): a build cleared a moment ago must not
        look finished.
        """
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
        from asgiref.sync import sync_to_async

        upstream = sorted(set(self.task_instance.task.upstream_task_ids) - {self.producer_task_id})
        states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
            dag_id=dag_id, task_ids=[self.producer_task_id, *upstream], run_ids=[run_id]
        )
        by_task = {t: str(s) for t, s in states.get(run_id, {}).items()}
        if any(by_task.get(t) not in PRODUCER_FINISHED for t in [self.producer_task_id, *upstream]):
            return None
        failed = sorted(t for t in upstream if by_task[t] != "success")
        if failed:
            return self._end("skipped", f"not rebuilt: upstream {', '.join(failed)} "
                             "did not succeed", None)  # fmt: skip
        self.log.info("cleared after the build: rebuilding %s on a worker", self.node_ids[0])
        return TriggerEvent({"rebuild": self.node_ids[0]})
