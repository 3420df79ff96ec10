"""Rotated refresh tokens reach the next *task*: two tasks of one ``dag.test()`` run.

Inside tasks the token store goes through the Task SDK ``Variable`` (execution API), not the
metadata database directly; this is the path production workers take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sendgrid_hook.auth.token_store import VARIABLE_PREFIX

from tests.hook.conftest import TEST_CONN, dag_bag, oauth_conn, oauth_connect

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")

DAG_FILE = f'''
import datetime as dt
import time

from airflow.sdk import DAG, task

with DAG("hook_oauth_rotation", schedule=None, start_date=dt.datetime(2026, 11, 1)) as dag:

    @task
    def extract(wait: float) -> int:
        from sendgrid_hook.hooks.sendgrid import SendGridHook

        time.sleep(wait)  # let the first task's access token expire
        hook = SendGridHook(sendgrid_conn_id="{TEST_CONN}")
        hook.get_json("/v3/user/account")
        return hook.get_conn().auth.refresh_count

    extract.override(task_id="first")(2.4) >> extract.override(task_id="second")(2.4)
'''


def test_two_tasks_share_the_rotated_token(
    sim: Any, tenant: dict, set_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models import Variable

    # 2 s tokens: every task finds the previous access token expired, and a busy machine still
    # has time to use a fresh one before it expires too
    sim.control.set_oauth(access_token_ttl=2)
    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"]))
    dag = dag_bag(tmp_path, monkeypatch, "hook_oauth_rotation.py", DAG_FILE).get_dag(
        "hook_oauth_rotation"
    )

    run = dag.test()
    assert run.state == "success"
    counts = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
    # each task refreshed (once; twice when a loaded machine let a 2 s token expire before its
    # use), and every refresh sent the token the one before it stored: a spent one would have
    # revoked the grant, and each refresh adds one token to the chain
    assert set(counts) == {"first", "second"}
    assert min(counts.values()) >= 1
    assert not any(g.revoked for g in sim.app.oauth.grants.values())
    chain = [t for g in sim.app.oauth.grants.values() for t in g.refresh_tokens]
    assert len(chain) == 1 + sum(counts.values())
    Variable.delete(VARIABLE_PREFIX + TEST_CONN)
