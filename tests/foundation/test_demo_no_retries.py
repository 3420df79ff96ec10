"""``make demo`` runs its DAGs without task retries, as ``make run`` does.

Before, a tenant the demo could not reach (a connection added in ``make airflow`` pointing at
that session's simulator) sat in Airflow's retry delays: ``Done in 758s``.
"""

from __future__ import annotations

from sendgrid_elt.settings import EXTRACT_DAG_ID, TRANSFORM_DAG_ID


def test_demo_dags_fail_at_the_first_failed_try(airflow_home) -> None:
    from sendgrid_demo.main import demo_dags

    dags = demo_dags()
    assert set(dags) == {EXTRACT_DAG_ID, TRANSFORM_DAG_ID}
    retried = {
        f"{dag_id}.{task.task_id}": task.retries
        for dag_id, dag in dags.items()
        for task in dag.tasks
        if task.retries
    }
    assert retried == {}
    assert len(dags[EXTRACT_DAG_ID].tasks) > 1
