"""Suppressions SendGrid lists late: a row whose ``created`` is older than rows already read.

A spam report's ``created`` is when the recipient marked the message (the spec's
``SpamReportsResponse``), and mailbox providers report complaints hours later. A cursor that
moved past such a report before it was listed must not skip it for good: spam reports are read
again for two days after their cursor (``catalog.SPAM_REPORT_SETTLE``), the other lists for
their five-minute write lag (``Cursor.settle``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from sendgrid_elt import catalog, sync_state

from .conftest import connection_json, extractor, staged_keys

#: The simulator's pinned day (its data never depends on today's date).
CLOCK = dt.date(2026, 11, 20)
#: Dynamo Travel (the demo set's large tenant): several spam reports a day.
DYNAMO = 3


@pytest.fixture(scope="module")
def busy_sim() -> Iterator[Any]:
    from sendgrid_simulator.testing import run_simulator

    with run_simulator(seed=42, scale="demo", clock=CLOCK) as running:
        yield running


@pytest.fixture
def dynamo(busy_sim: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(busy_sim, DYNAMO))
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    hook = SendGridHook(sendgrid_conn_id="acme", backoff_base=0.05, backoff_max=0.5)
    yield hook
    hook.close()


def test_a_spam_report_listed_after_newer_ones_is_still_read(busy_sim, dynamo, pg) -> None:
    spec = dataclasses.replace(catalog.get("spam_reports"), per_subuser=False)
    tenant_id = busy_sim.accounts["tenants"][DYNAMO]["tenant_id"]
    since = int(dt.datetime.combine(CLOCK - dt.timedelta(days=2), dt.time(), dt.UTC).timestamp())
    recent = dynamo.get_json("/v3/suppression/spam_reports", {"limit": 500, "start_time": since})
    newest = max(r["created"] for r in recent)
    count = busy_sim.control.truth()["tenants"][DYNAMO]["streams"]["spam_reports"]["count"]
    late = count - 2  # the second newest row (oldest first), stamped before the newest
    email = busy_sim.control.delete_suppression(tenant_id, "spam_reports", late)
    try:
        created = next(r["created"] for r in recent if r["email"] == email)
        assert newest - 86400 <= created < newest  # listed late by hours, not days
        now = dynamo.api_time()
        first = extractor(dynamo, pg, "r1", now=now).run_stream(spec)
        assert first.status == "ok"
        assert email not in staged_keys(pg, "acme", "spam_reports")
        cursor = sync_state.load_cursor(pg, "acme", "spam_reports", "")
        assert cursor["value"] == newest  # the cursor passed the report not yet listed
    finally:
        busy_sim.control.restore_suppression(tenant_id, "spam_reports", late)
    again = extractor(dynamo, pg, "r2", now=now).run_stream(spec)
    assert again.status == "ok"
    assert email in staged_keys(pg, "acme", "spam_reports")
    assert len(staged_keys(pg, "acme", "spam_reports")) == first.records + 1


def test_a_spam_cursor_an_older_version_closed_is_read_back_once(busy_sim, dynamo, pg) -> None:
    """A spam-report cursor an older version saved ``settled: true`` (closed after its 5
    minutes) is read back over the two days once after the upgrade, not trusted: complaints
    listed late just before the upgrade are not skipped for good."""
    spec = dataclasses.replace(catalog.get("spam_reports"), per_subuser=False)
    since = int(dt.datetime.combine(CLOCK - dt.timedelta(days=2), dt.time(), dt.UTC).timestamp())
    recent = dynamo.get_json("/v3/suppression/spam_reports", {"limit": 500, "start_time": since})
    newest = max(r["created"] for r in recent)
    before = [r["email"] for r in recent if newest - 86400 <= r["created"] < newest]
    assert before
    sync_state.save_cursor(pg, "acme", "spam_reports", "", {"value": newest, "settled": True},
                           "older_version", complete=True)  # fmt: skip
    outcome = extractor(dynamo, pg, "r1", now=dynamo.api_time()).run_stream(spec)
    assert outcome.status == "ok"
    assert set(before) <= set(staged_keys(pg, "acme", "spam_reports"))
    saved = sync_state.load_cursor(pg, "acme", "spam_reports", "")
    assert saved.get("settled") in (None, catalog.SPAM_REPORT_SETTLE)  # never True again
