"""An Airflow base URL that is not http(s) is refused where it is configured, never a link.

The base URL is the target of the dashboard's Reconnect buttons and of every alert's link. A
``javascript:`` value (a pasted bookmarklet, a Variable set wrong) became ``href`` as is: the
dashboard's buttons ran it (its policy blocked it, see test_dashboard_hostile_text) and the
alerts carried it to every recipient. Now the Variable, ``[api] base_url``, ``AlertSettings``,
the dashboard's ``--connect-base-url`` and its environment form are checked by one rule
(:func:`sendgrid_hook.base_url.checked_base_url`), with an error naming where to fix it, where
the value is resolved (the dashboard's ``resolve_base_url``, Airflow's
``sendgrid_hook.base_url.airflow_base_url``); the Variable's error is logged and the default
link used, so it never stops an extraction.
"""

from __future__ import annotations

import logging

import pytest
from sendgrid_hook.base_url import DEFAULT_CONNECT_BASE_URL, checked_base_url

from sendgrid_dashboard.render import BASE_URL_ENV
from sendgrid_elt.alert_settings import AlertSettings
from sendgrid_elt.settings import CONNECT_BASE_URL_VARIABLE

pytestmark = pytest.mark.usefixtures("airflow_home")
VARIABLE_ENV = f"AIRFLOW_VAR_{CONNECT_BASE_URL_VARIABLE.upper()}"
#: Nothing listens there: a dashboard that read the warehouse first would fail otherwise.
NO_WAREHOUSE = "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"
HOSTILE = [
    "javascript:alert(document.cookie)//",
    " JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "airflow.example.com",  # no scheme: a relative link
    "https://",
    "https://airflow.example.com/?next=javascript:x",
    "https://airflow.example.com\n/evil",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_alert_variable_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Never a link, and never a stopped extraction: an ERROR names the Variable."""
    monkeypatch.setenv(VARIABLE_ENV, value)
    with caplog.at_level(logging.ERROR, logger="sendgrid_elt.alert_settings"):
        settings = AlertSettings.from_airflow()
    assert settings.connect_base_url == DEFAULT_CONNECT_BASE_URL
    (record,) = [r for r in caplog.records if r.name == "sendgrid_elt.alert_settings"]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert f"Variable {CONNECT_BASE_URL_VARIABLE} must be the Airflow UI's http(s)" in message
    assert f"the alerts link to {DEFAULT_CONNECT_BASE_URL} instead" in message
    with pytest.raises(ValueError, match="connect_base_url must be"):
        AlertSettings(connect_base_url=value)


def test_an_http_base_url_is_read_once_for_the_alerts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE_ENV, " https://airflow.example.com/ ")
    assert AlertSettings.from_airflow().connect_base_url == "https://airflow.example.com"
    given = AlertSettings.from_airflow(connect_base_url="http://localhost:8080")
    assert given.connect_base_url == "http://localhost:8080"  # an argument wins
    assert checked_base_url("http://10.0.0.5:8080/airflow/", "x") == "http://10.0.0.5:8080/airflow"


@pytest.mark.parametrize(
    ("api_base_url", "link_base"),
    [("https://airflow.example.com/", "https://airflow.example.com"),
     (None, DEFAULT_CONNECT_BASE_URL)],
)  # fmt: skip
def test_a_batch_reads_the_base_url_variable_once_however_many_alerts_it_writes(
    api_base_url: str | None, link_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the Variable unset, each alert's link read it again (then ``[api] base_url``):
    one execution-API round trip per alert of a 1,000-tenant batch. ``from_airflow`` now
    resolves the fallback once and the alerts built from its settings read nothing."""
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend
    from sendgrid_hook.notifications.reconnect import ReconnectNotifier

    monkeypatch.delenv(VARIABLE_ENV, raising=False)
    if api_base_url:
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", api_base_url)
    else:
        monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    real_get, reads = EnvironmentVariablesBackend.get_variable, []

    def counted(self: object, key: str, *args: object, **kwargs: object) -> object:
        reads.extend([key] if key == CONNECT_BASE_URL_VARIABLE else [])
        return real_get(self, key, *args, **kwargs)  # the real read (a secrets backend), counted

    monkeypatch.setattr(EnvironmentVariablesBackend, "get_variable", counted)
    settings = AlertSettings.from_airflow()
    links = [
        ReconnectNotifier(tenant_id=f"tenant_{i}", reason="revoked",
                          connect_base_url=settings.connect_base_url).message()[1]
        for i in range(5)
    ]  # fmt: skip
    assert len(reads) == 1
    for i, body in enumerate(links):
        assert f"{link_base}/sendgrid/connections?tenant=tenant_{i}" in body


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_the_dashboard_refuses_it_before_reading_the_warehouse(
    how: str, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture
) -> None:
    from sendgrid_dashboard import write_dashboard
    from sendgrid_dashboard.__main__ import main

    for name in BASE_URL_ENV:
        monkeypatch.delenv(name, raising=False)
    bookmarklet = "javascript:void(document.title='pwned');//x"
    argument = bookmarklet if how == "argument" else None
    if how == "environment":
        monkeypatch.setenv(BASE_URL_ENV[0], bookmarklet)
    with pytest.raises(ValueError, match="a javascript: URL"):
        write_dashboard(NO_WAREHOUSE, tmp_path / "d.html", connect_base_url=argument)
    args = ["--conninfo", NO_WAREHOUSE, "--output", str(tmp_path / "d.html")]
    assert main(args + (["--connect-base-url", bookmarklet] if argument else [])) == 2
    err = capsys.readouterr().err
    where = (
        "the connect_base_url argument" if argument else f"environment variable {BASE_URL_ENV[0]}"
    )
    assert f"dashboard: The dashboard's base URL ({where}" in err
    assert "found a javascript: URL" in err
    assert "document.title" not in err  # the value itself is not echoed (it may hold a password)
    assert not (tmp_path / "d.html").exists()


def test_an_alert_built_without_settings_never_links_to_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A notifier given no base URL reads the Variable as the alert is written: a javascript:
    value there is logged as an error and the default used, so the alert still goes out."""
    from sendgrid_hook.notifications.reconnect import connect_url

    monkeypatch.setenv(VARIABLE_ENV, "javascript:alert(1)")
    assert connect_url("acme").startswith(f"{DEFAULT_CONNECT_BASE_URL}/")
    assert f"Variable {CONNECT_BASE_URL_VARIABLE} must be" in caplog.text
    monkeypatch.setenv(VARIABLE_ENV, "https://airflow.example.com/")
    assert connect_url("acme").startswith("https://airflow.example.com/sendgrid/")


@pytest.mark.parametrize("how", ["argument", *BASE_URL_ENV])
def test_the_page_itself_refuses_it_however_it_is_rendered(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``render_dashboard`` called directly (a library user, a page served from it) resolved
    the base URL unchecked: only ``write_dashboard`` and the CLI refused a ``javascript:``
    one, so the page got Reconnect buttons that ran it. The check is now where the value is
    resolved; the error names where it was set and never the value."""
    import datetime as dt

    from sendgrid_dashboard.queries import Dashboard
    from sendgrid_dashboard.render import render_dashboard

    for name in BASE_URL_ENV:
        monkeypatch.delenv(name, raising=False)
    bookmarklet = "javascript:alert(document.cookie)//secret"
    if how != "argument":
        monkeypatch.setenv(how, bookmarklet)
    empty = Dashboard(None, [], dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="a javascript: URL") as refused:
        render_dashboard(empty, connect_base_url=bookmarklet if how == "argument" else None)
    message = str(refused.value)
    where = "the connect_base_url argument" if how == "argument" else f"environment variable {how}"
    assert message.startswith(f"The dashboard's base URL ({where}")
    assert "cookie" not in message  # the value is never echoed (it may hold a password)
    assert "secret" not in message
