"""Overage ahead: one alert per tenant and credit period, through the reconnect alerts' channels.

The forecast table is created from the dbt contract of ``rpt_sendgrid_overage_forecast`` (a
renamed column breaks this test as it would break the alerts); mail goes to the demo's local
SMTP sink, a real SMTP server.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from psycopg import sql
from sendgrid_hook.display import human_instant
from sqlalchemy import create_engine

from sendgrid_demo.smtp_sink import SMTP_CONN_ENV, SmtpSink, message_text
from sendgrid_elt.connection_health import AlertSettings
from sendgrid_elt.overage_alerts import alerted, send_overage_alerts
from tests.dashboard.marts_fixture import mart_columns

pytestmark = pytest.mark.usefixtures("airflow_home")
AS_OF = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
SETTINGS = AlertSettings(to=("finance@example.com",))


def forecast(tenant: str, period: dt.date, **overrides: Any) -> dict[str, Any]:
    row = {
        "credit_period_id": f"{tenant}|{period}",
        "tenant_id": tenant,
        "display_name": tenant.title(),
        "plan_name": "Essentials 100K",
        "period_start_date": period,
        "period_end_date": period + dt.timedelta(days=30),
        "days_remaining": 10,
        "credits_total": 100_000,
        "credits_used": 90_000,
        "daily_run_rate": Decimal("4000"),
        "projection_basis": "trailing_window",
        "projection_confidence": "high",
        "projected_credits_used": 130_000,
        "projected_used_pct": Decimal("130.00"),
        "projected_exhaustion_date": dt.date(2026, 11, 23),
        "projected_overage_emails": 30_000,
        "projected_overage_cost_usd": Decimal("30.00"),
        "is_over_plan": False,
        "alert_text": "projected to pass its 100,000 credits on 2026-11-23",
        "as_of_at": AS_OF,
    }
    return row | overrides


@pytest.fixture
def forecasts(pg_database) -> Iterator[Any]:
    """The warehouse with an empty ``rpt_sendgrid_overage_forecast``; yields an inserter."""
    import psycopg

    columns = mart_columns()["rpt_sendgrid_overage_forecast"]
    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
        conn.execute("create schema sendgrid_marts")
        conn.execute(
            sql.SQL("create table sendgrid_marts.rpt_sendgrid_overage_forecast ({})").format(
                sql.SQL(", ").join(
                    sql.SQL("{} {}{}").format(
                        sql.Identifier(name), sql.SQL(kind), sql.SQL(" not null" if nn else "")
                    )
                    for name, kind, nn in columns
                )
            )
        )

    def add(*rows: dict[str, Any]) -> None:
        with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
            conn.execute("delete from sendgrid_marts.rpt_sendgrid_overage_forecast")
            for row in rows:
                conn.execute(
                    sql.SQL(
                        "insert into sendgrid_marts.rpt_sendgrid_overage_forecast ({}) values ({})"
                    ).format(
                        sql.SQL(", ").join(map(sql.Identifier, row)),
                        sql.SQL(", ").join(sql.Placeholder() * len(row)),
                    ),
                    list(row.values()),
                )

    engine = create_engine(pg_database.sqlalchemy_url())
    add.engine = engine  # type: ignore[attr-defined]
    yield add
    engine.dispose()


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    box = SmtpSink().start()
    monkeypatch.setenv(SMTP_CONN_ENV, box.connection_json())
    yield box
    box.stop()


def test_one_alert_per_tenant_and_period_with_date_and_cost(
    forecasts: Any, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ACME",
        json.dumps({"conn_type": "sendgrid", "password": "SG.x.y",
                    "extra": {"auth_type": "api_key", "alert_emails": "it@acme.example"}}),
    )  # fmt: skip
    november = dt.date(2026, 11, 1)
    forecasts(
        forecast("acme", november),
        forecast("globex", november, is_over_plan=True, credits_used=120_000,
                 alert_text="already over plan: 120,000 of 100,000 credits used"),
    )  # fmt: skip
    sent = send_overage_alerts(forecasts.engine, settings=SETTINGS)
    assert sorted((s["tenant_id"], s["channels"]) for s in sent) == [
        ("acme", ["log", "email"]),
        ("globex", ["log", "email"]),
    ]
    mail = {m["Subject"]: m for m in sink.received()}
    assert set(mail) == {
        "[SendGrid] Acme will run out of credits on 2026-11-23",
        "[SendGrid] Globex is over its plan's credits",
    }
    acme = mail["[SendGrid] Acme will run out of credits on 2026-11-23"]
    assert {a.strip() for a in acme["To"].split(",")} == {"finance@example.com", "it@acme.example"}
    body = "".join(
        part.get_payload(decode=True).decode()
        for part in acme.walk()
        if not part.is_multipart() and part.get_payload(decode=True)
    )
    assert "30,000 emails, about $30.00" in body
    assert "2026-11-01 to 2026-12-01" in body
    assert f"Figures as of {human_instant(AS_OF)};" in body  # for people: minutes, UTC
    assert human_instant(AS_OF).endswith(" UTC")
    # The demo prints the mail as text: the HTML-only message without its tags.
    text = message_text(acme)
    assert "30,000 emails, about $30.00" in text
    assert "<" not in text

    # The next transforms: the same periods are never alerted again.
    assert send_overage_alerts(forecasts.engine, settings=SETTINGS) == []
    assert len(sink.received()) == 2
    # A new credit period is a new alert.
    forecasts(forecast("acme", november), forecast("acme", dt.date(2026, 12, 1)))
    assert [
        s["period_start_date"] for s in send_overage_alerts(forecasts.engine, settings=SETTINGS)
    ] == ["2026-12-01"]
    assert len(sink.received()) == 3
    assert len(alerted(forecasts.engine)) == 3


def test_an_alert_no_channel_delivered_is_retried_next_run(
    forecasts: Any, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    forecasts(forecast("acme", dt.date(2026, 11, 1)))
    down = json.loads(sink.connection_json())
    down["port"] = 9  # nothing listens there: the e-mail fails
    monkeypatch.setenv(SMTP_CONN_ENV, json.dumps(down))
    assert send_overage_alerts(forecasts.engine, settings=SETTINGS) == []
    assert alerted(forecasts.engine) == []  # the claim was released
    monkeypatch.setenv(SMTP_CONN_ENV, sink.connection_json())
    assert len(send_overage_alerts(forecasts.engine, settings=SETTINGS)) == 1
    assert len(sink.received()) == 1


def test_a_claim_never_delivered_is_taken_again_later(warehouse: Any) -> None:
    """A worker that died between claiming a period's alert and sending it left a claim with
    no channels: after an hour the next run takes it again (before, the period's alert was
    lost); a delivered claim, or one just made by a live run, is not taken."""
    from sendgrid_elt.health_store import health_engine
    from sendgrid_elt.overage_alerts import OverageForecast, _claim, ensure_table, overage_alerts

    engine = health_engine()
    ensure_table(engine)
    forecast = OverageForecast(
        "acme_claim", "Acme", "Pro", dt.date(2026, 11, 1), dt.date(2026, 12, 1), 100, 90, 130,
        dt.date(2026, 11, 20), 30, Decimal("1.50"), "high", False, None,
        dt.datetime(2026, 11, 15, tzinfo=dt.UTC),
    )  # fmt: skip
    key = overage_alerts.c.tenant_id == "acme_claim"
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with engine.begin() as conn:
        assert _claim(conn, forecast)  # the first claim
        assert not _claim(conn, forecast)  # a live run's claim is not taken
        conn.execute(overage_alerts.update().where(key).values(alerted_at=two_hours_ago))
        assert _claim(conn, forecast)  # never delivered, an hour old: taken again
        conn.execute(
            overage_alerts.update().where(key).values(channels="email", alerted_at=two_hours_ago)
        )
        assert not _claim(conn, forecast)  # delivered: once per period
