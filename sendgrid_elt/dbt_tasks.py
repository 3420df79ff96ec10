"""The transform DAG's operators (import-light: DAG files import this module when parsed).

* :class:`DbtBuildOperator` runs **one** ``dbt build`` of the whole project with dbt's threads
  and publishes each node's result the moment dbt finishes it (XCom ``dbt_results``).
* :class:`PublishMartsOperator` ends the run: it emits the marts Asset when every model task
  succeeded, and fails (so the run fails) when one did not.
* :class:`DbtNodeOperator` is one task per dbt model (seed, snapshot, multi-parent test). It
  **starts in the triggerer** (``start_from_trigger``): :class:`~sendgrid_elt.dbt_trigger.
  DbtNodeTrigger` waits for the node's results and ends the task there, success, failed or
  skipped, without ever occupying a worker. Cleared after the build, the task instead resumes
  on a worker and rebuilds its own nodes (``dbt build --select <node>``).

Under ``dag.test()`` (no triggerer) a node task runs :meth:`DbtNodeOperator.execute` in the
test process: it reports the published results, or asks to be rescheduled while the build has
not run yet. Deployments need a triggerer (the compose file and the local cluster start one).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sendgrid_elt.dbt_graph import NodeTask

if TYPE_CHECKING:
    from airflow.triggers.base import StartTriggerArgs

#: Classpath of the trigger that watches a node (imported by the triggerer only).
TRIGGER_CLASSPATH = "sendgrid_elt.dbt_trigger.DbtNodeTrigger"
#: How long a node task waits for the build before it fails.
NODE_TIMEOUT = dt.timedelta(hours=6)


class DbtBuildOperator(BaseOperator):
    """Run ``dbt build`` for the whole project and publish every node's result as it finishes.

    Args:
        project_dir: The dbt project.
        **kwargs: ``BaseOperator`` arguments.
    """

    ui_color = "#ffd8b5"

    def __init__(self, *, project_dir: str, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)
        kwargs.setdefault("execution_timeout", NODE_TIMEOUT)
        super().__init__(**kwargs)
        self.project_dir = project_dir

    def execute(self, context: Any) -> dict[str, Any]:
        """Run the build (see :func:`sendgrid_elt.transform.build_project`)."""
        from sendgrid_elt.transform import build_project

        return build_project(context, self.project_dir)

    def on_kill(self) -> None:
        """Stop dbt with the task."""
        from sendgrid_elt.transform import stop_dbt

        stop_dbt()


class DbtNodeOperator(BaseOperator):
    """Report one dbt node (and its tests) from the build, or rebuild it when cleared.

    Args:
        node: The task's nodes, selector and parents (from the manifest).
        project_dir: The dbt project.
        producer_task_id: Task id of the :class:`DbtBuildOperator`.
        **kwargs: ``BaseOperator`` arguments (``trigger_rule`` defaults to ``always``: the
            task reports dbt's verdict, and dbt already skips what depends on a failure).
    """

    start_from_trigger = True
    ui_color = "#e8f3ff"

    def __init__(
        self, *, node: NodeTask, project_dir: str, producer_task_id: str, **kwargs: Any
    ) -> None:
        kwargs.setdefault("trigger_rule", "always")
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.node_ids = list(node.node_ids)
        self.select = node.select
        self.project_dir = project_dir
        self.producer_task_id = producer_task_id
        self.doc_md = f"dbt `{node.unique_id}` and its tests: `dbt build --select {node.select}`"

    @property
    def start_trigger_args(self) -> StartTriggerArgs:  # type: ignore[override]
        """The trigger that starts the task.

        Built on use: ``airflow.triggers.base`` is a heavy import that DAG parsing does without.
        """
        from airflow.triggers.base import StartTriggerArgs

        return StartTriggerArgs(
            trigger_cls=TRIGGER_CLASSPATH,
            trigger_kwargs={"producer_task_id": self.producer_task_id, "node_ids": self.node_ids},
            next_method="execute_complete",
            next_kwargs=None,
            timeout=NODE_TIMEOUT,
        )

    def _validate_start_from_trigger_kwargs(self) -> None:
        """Nothing to check: the trigger's arguments are strings (no callables)."""

    def execute(self, context: Any) -> str:
        """Worker path (``dag.test()``, ``airflow tasks test``): report, wait or rebuild."""
        from sendgrid_elt.transform import run_node

        return run_node(self, context)

    def execute_complete(self, context: Any, event: Any = None) -> str:
        """The trigger found the task cleared after the build: rebuild its nodes here."""
        from sendgrid_elt.transform import rebuild_node

        return rebuild_node(self, context)

    def on_kill(self) -> None:
        """Stop a rebuild's dbt with the task."""
        from sendgrid_elt.transform import stop_dbt

        stop_dbt()


class PublishMartsOperator(BaseOperator):
    """Emit the marts Asset once every model task succeeded; fail the run otherwise.

    Runs when all its upstream tasks are done (``trigger_rule="all_done"``): a plain
    ``all_success`` rule would *skip* it as soon as dbt skipped one model, and a run whose only
    leaf is skipped counts as a success even though a model failed.

    Args:
        **kwargs: ``BaseOperator`` arguments (give ``outlets``).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)

    def execute(self, context: Any) -> list[str]:
        """Check the model tasks' states (one API call)."""
        from airflow.sdk.exceptions import AirflowFailException

        ti = context["ti"]
        upstream = sorted(self.upstream_task_ids)
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=upstream, run_ids=[ti.run_id])
        by_task = {t: str(s) for t, s in states.get(ti.run_id, {}).items()}
        bad = sorted(f"{t} ({by_task.get(t)})" for t in upstream if by_task.get(t) != "success")
        if bad:
            from sendgrid_hook.display import plural  # run time: DAG files parse without it

            raise AirflowFailException(
                f"marts not published: {len(bad)} dbt {plural('task', len(bad))} did not "
                f"succeed: {', '.join(bad)}"
            )
        return [asset.name for asset in self.outlets]
