"""An end-to-end run at DEBUG level leaks no secret into logs, output, errors or the warehouse."""

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
    read_health,
    reconnect_guard,
)
from tests.hook.conftest import TEST_CONN, api_key_conn, oauth_conn, oauth_connect

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")
SETTINGS = AlertSettings(to=("ops@example.com",))
NEEDS = ["user_account", "global_stats"]


def _extract(hook: SendGridHook, engine: Any) -> None:
    with reconnect_guard(hook, engine=engine, settings=SETTINGS):
        hook.granted_scopes()
        list(hook.iter_records("/v3/suppression/bounces", pagination="offset",
                               records_path=None, page_size=250))  # fmt: skip
        list(hook.iter_records("/v3/templates", pagination="metadata_next",
                               records_path="result", page_size=1))  # fmt: skip


def test_no_secret_in_any_output(
    sim: Any, tenant: dict, set_conn: Any, smtp_server: Any, caplog: Any, capfd: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    engine = health_engine()
    keys = tenant["api_keys"]
    sim.control.set_faults("500=0.1,truncate=0.1,drop=0.05", seed=3)
    errors: list[str] = []

    set_conn(TEST_CONN, api_key_conn(sim, keys["restricted"]))
    errors.append(SendGridHook(sendgrid_conn_id=TEST_CONN).test_connection()[1])
    check_connection(SendGridHook(sendgrid_conn_id=TEST_CONN), NEEDS, engine=engine,
                     settings=SETTINGS)  # fmt: skip
    set_conn(TEST_CONN, api_key_conn(sim, keys["full"]))
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01)
    _extract(hook, engine)
    sim.control.revoke_key(keys["full"])
    with pytest.raises(AirflowFailException) as failed:
        _extract(SendGridHook(sendgrid_conn_id=TEST_CONN), engine)
    errors.append(str(failed.value))

    sim.control.set_oauth(access_token_ttl=1)
    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"]))
    _extract(SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01), engine)
    sim.control.revoke_refresh_tokens(tenant["tenant_id"])
    with pytest.raises(AirflowFailException) as failed:
        _extract(SendGridHook(sendgrid_conn_id=TEST_CONN), engine)
    errors.append(str(failed.value))

    oauth = sim.app.oauth
    secrets = {keys["full"], keys["restricted"], tenant["oauth"]["client_secret"]}
    secrets |= {tenant["oauth"]["password"], *oauth.refresh}
    secrets |= {t for g in oauth.grants.values() for t in g.access_tokens}
    assert len(secrets) >= 8
    out, err = capfd.readouterr()
    row = read_health(engine, TEST_CONN)
    mails = "".join(m.as_string() for m in smtp_server.messages)
    haystacks = {
        "log records": caplog.text,
        "stdout": out,
        "stderr": err,
        "errors": "\n".join(errors),
        "health row": str(row),
        "alert mails": mails,
    }
    assert "DEBUG" in caplog.text, "debug logging was really on"
    assert len(smtp_server.messages) >= 2
    for where, text in haystacks.items():
        leaked = [s[:6] + "..." for s in secrets if s in text]
        assert leaked == [], f"secret(s) in {where}: {leaked}"
