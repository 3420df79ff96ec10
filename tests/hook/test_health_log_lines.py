"""A tenant's display name cannot forge a connection-health log line.

The display name is the connection's description (a multi-line text box) or its
``display_name`` extra. The health lines (missing scopes, a run that failed outside its
streams, stream problems, a tenant still to reconnect) wrote it as is: a name holding
``"\\n[time] INFO - all fine"`` was a second, fake line of the task log, an ANSI escape
reached an admin's terminal. Now it is written with :func:`sendgrid_hook.display.printable`.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from sendgrid_hook.hooks.sendgrid import SendGridHook

from sendgrid_elt.connection_health import (
    AlertSettings,
    check_connection,
    health_engine,
    reconnect_guard,
    record_run_failure,
    record_streams,
)
from sendgrid_elt.stream_outcome import StreamOutcome
from tests.hook.conftest import TEST_CONN, api_key_conn

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")
FORGED = "[2026-12-07 12:00:00] INFO - all fine"
NAME = f"Acme\n{FORGED}\x1b[2J"
SHOWN = f"Acme\\n{FORGED}\\x1b[2J"
SETTINGS = AlertSettings(connect_base_url="https://airflow.example.com")


def test_a_display_name_with_a_line_break_is_one_health_log_line(
    sim: Any, tenant: dict, set_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    key = tenant["api_keys"]["restricted"]  # missing scopes: the check logs a line
    set_conn(TEST_CONN, api_key_conn(sim, key, display_name=NAME))
    engine = health_engine()
    caplog.set_level(logging.INFO, logger="sendgrid_elt.connection_health")
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    check_connection(hook, None, engine=engine, settings=SETTINGS)
    record_run_failure(hook, TimeoutError("read timed out"), engine=engine, settings=SETTINGS)
    failed = StreamOutcome("bounces", "error", detail="SendGridError: 503")
    record_streams(hook, {"bounces": failed}, engine=engine, settings=SETTINGS)
    sim.control.revoke_key(key)
    for _ in range(2):  # the second run: "still needs reconnecting (alert already sent)"
        with pytest.raises(AirflowFailException), reconnect_guard(hook, engine=engine,
                                                                  settings=SETTINGS):  # fmt: skip
            SendGridHook(sendgrid_conn_id=TEST_CONN).get_json("/v3/user/account")

    lines = [r.getMessage() for r in caplog.records
             if r.name == "sendgrid_elt.connection_health"]  # fmt: skip
    assert len(lines) == 4, lines  # scopes, run failure, problems, still to reconnect
    for line in lines:
        assert line.startswith(SHOWN), line
        assert "\n" not in line, line
        assert "\x1b" not in line, line
