"""One alert per failed DAG run: the pipeline itself failed, not (only) a tenant.

Tenant problems have their own alerts (:mod:`sendgrid_elt.connection_health`); a run can fail
where none of them tells: ``list_tenants`` cannot discover the tenants (rotated discovery
credentials), the warehouse is down, the dbt build fails. :class:`RunFailureNotifier` is the
DAGs' ``on_failure_callback``: Airflow calls a DAG's callback once per failed run (in the DAG
processor; in-process under ``dag.test()``), never per task try or per tenant. It uses the
tenant alerts' channels (the alert Variables; log, e-mail, Slack) and names the DAG, the run id
and the failed task ids, never an exception's text (which may quote a secret).

A run that failed only because tenants failed (every failed task is an extract batch, and each
of its tenants has a finished row in ``extract_run_tenants``: none was cut off by a killed
task) sends nothing more: each of those tenants' health already alerted once, and a tenant to
reconnect would otherwise add a second mail every day it stays so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from sendgrid_elt.alert_settings import AlertSettings

log = logging.getLogger(__name__)


def failed_task_ids(dag_id: str, run_id: str, context: Mapping[str, Any]) -> list[str]:
    """The run's failed task instances (``task[map_index]`` when mapped).

    Asked from Airflow: through the execution API where the Task SDK runs the callback (the
    DAG processor), else from the metadata database (``dag.test()`` runs it in-process, with
    no execution API); when neither answers, the task instance the callback's context names
    (the last that failed).
    """
    task_ids = set(getattr(context.get("dag"), "task_ids", ()) or ())
    for read in (_from_execution_api, _from_metadata_db):
        try:
            states = read(dag_id, run_id)
        except Exception:  # noqa: S112 - the next source, then the context's task
            continue
        failed = sorted(_label(key, task_ids) for key, state in states.items() if state == "failed")
        if failed:
            return failed
    ti = context.get("ti") or context.get("task_instance")
    return [ti.task_id] if getattr(ti, "task_id", None) else []


def _from_execution_api(dag_id: str, run_id: str) -> dict[str, Any]:
    from airflow.sdk.execution_time import task_runner
    from sendgrid_hook.airflow_reads import in_task

    if not in_task():
        raise LookupError("no execution API here")
    states = task_runner.RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
    return dict(states.get(run_id) or {})


def _from_metadata_db(dag_id: str, run_id: str) -> dict[str, Any]:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(TI.task_id, TI.map_index, TI.state).where(TI.dag_id == dag_id,
                                                             TI.run_id == run_id)  # fmt: skip
    with create_session() as session:
        rows = session.execute(query).all()
    return {(t if i < 0 else f"{t}_{i}"): str(getattr(s, "value", s)) for t, i, s in rows}


def explained_by_tenants(dag_id: str, run_id: str, failed: list[str]) -> bool:
    """Whether the run failed only through tenants whose own health alerts tell of it.

    Every failed task is an extract batch, and the run's tenant rows show a failed or partial
    tenant and none left unfinished (a batch killed or timed out). Unknown (the warehouse
    cannot be read) is ``False``: the run's alert is sent.
    """
    from sendgrid_elt.settings import EXTRACT_DAG_ID

    if dag_id != EXTRACT_DAG_ID or not failed:
        return False
    if not all(t == "extract_load" or t.startswith("extract_load[") for t in failed):
        return False
    try:
        from sendgrid_elt.batches import FAILED, PARTIAL, RUNNING, run_tenants

        statuses = {row["status"] for row in run_tenants(run_id).values()}
    except Exception:  # unknown: alert
        return False
    return RUNNING not in statuses and bool(statuses & {FAILED, PARTIAL})


def _label(key: str, task_ids: Iterable[str]) -> str:
    """``extract_load_3`` (how Airflow keys a mapped instance) as ``extract_load[3]``."""
    mapped = re.fullmatch(r"(.+)_(\d+)", key)
    if key not in task_ids and mapped and mapped.group(1) in task_ids:
        return f"{mapped.group(1)}[{mapped.group(2)}]"
    return key


class RunFailureNotifier(BaseNotifier):
    """A DAG's ``on_failure_callback``: one alert per failed run, on the alert channels.

    Args:
        settings: Alert channels (default: the alert Variables, read when the run failed).
    """

    def __init__(self, *, settings: AlertSettings | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.delivered: list[str] = []

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Nothing to render (no template fields).

        Under ``dag.test()`` the context's DAG is a serialized one without a template
        environment: rendering raised before anything was sent.
        """

    def notify(self, context: Any) -> None:
        """Send the alert; channel errors are logged (a callback must not raise)."""
        from sendgrid_elt.alert_settings import AlertSettings
        from sendgrid_elt.run_alert_message import RunFailureMessage

        settings = self.settings or AlertSettings.from_airflow()
        dag_run = context.get("dag_run")
        dag_id = getattr(context.get("dag"), "dag_id", None) or getattr(dag_run, "dag_id", "?")
        run_id = context.get("run_id") or getattr(dag_run, "run_id", None) or "?"
        failed = failed_task_ids(dag_id, run_id, context)
        if explained_by_tenants(dag_id, run_id, failed):
            log.info("run %s of %s failed through its tenants only (%s): their health alerts "
                     "tell of it, no run alert", run_id, dag_id, ", ".join(failed))  # fmt: skip
            return
        message = RunFailureMessage(
            dag_id=dag_id,
            run_id=run_id,
            failed=failed,
            cause=str(context.get("reason") or "task_failure"),
            to=list(settings.to),
            smtp_conn_id=settings.smtp_conn_id,
            from_email=settings.from_email,
            slack_webhook_conn_id=settings.slack_webhook_conn_id,
            connect_base_url=settings.connect_base_url,
        )
        message.notify(context)
        self.delivered = list(message.delivered)
