"""The failed-run alert's message, on the tenant alerts' channels (:mod:`sendgrid_elt.run_alerts`).

Kept apart from the DAGs' callback so parsing a DAG file imports no notifier (its channels
load only when a run failed).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sendgrid_hook.notifications.reconnect import ReconnectNotifier, airflow_url

#: Failed task ids named in the alert; the rest are counted.
MAX_NAMED_TASKS = 20


class RunFailureMessage(ReconnectNotifier):
    """The tenant alerts' channels with a failed-run message."""

    def __init__(self, *, dag_id: str, run_id: str, failed: list[str], cause: str, **channels: Any):
        super().__init__(tenant_id=dag_id, kind="degraded", display_name=dag_id, **channels)
        self.dag_id, self.run_id, self.failed, self.cause = dag_id, run_id, failed, cause

    def message(self) -> tuple[str, str]:
        """Subject and body: which DAG run failed, which tasks, where to look."""
        named = ", ".join(self.failed[:MAX_NAMED_TASKS]) or "unknown (see the run)"
        more = len(self.failed) - MAX_NAMED_TASKS
        if more > 0:
            named += f" and {more} more"
        link = airflow_url(f"/dags/{quote(self.dag_id, safe='')}/runs/"
                           f"{quote(self.run_id, safe='')}", self.connect_base_url)  # fmt: skip
        return (
            f"[SendGrid] pipeline run failed: {self.dag_id}",
            f"The Airflow run {self.run_id} of DAG {self.dag_id} failed ({self.cause}).\n"
            f"Failed tasks: {named}.\n"
            "Tenants' own problems (access revoked, streams failed) are alerted per tenant; "
            "this alert is about the run: for instance the tenants could not be discovered, "
            "the warehouse could not be reached, or dbt failed. The failed tasks' logs say "
            f"why.\nThe run in Airflow: {link}",
        )
