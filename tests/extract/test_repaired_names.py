"""A subuser name PostgreSQL cannot store as SendGrid gave it is never sent altered.

A NUL (or a lone surrogate) in a subuser's name is repaired to U+FFFD when its ``subusers``
record is stored (PostgreSQL text cannot hold it). The extractor took its units and fan-out ids
from those stored records, so it sent the repaired name: SendGrid answered 403/404 for that
unknown user and the subuser was reported "deleted now, not a problem" while its volume was
missing. Now such a name is handled like a name that cannot be sent: one reject per stream
naming it with escapes, a WARNING, the other subusers load.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest

from sendgrid_elt.record_values import clean
from sendgrid_elt.rejects import unusable_unit

from .test_long_labels import _renamed, _rows, _runs_ok_degraded_once

pytestmark = pytest.mark.usefixtures("airflow_home")


REASON = (
    "subusers.username stored with U+FFFD (a NUL or a lone surrogate PostgreSQL cannot hold was "
    "replaced): the id SendGrid holds is unknown, not sent, not read"
)


@pytest.fixture
def repaired_name(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Acme with its first subuser renamed to a name holding a NUL."""
    yield from _renamed(sim, warehouse, monkeypatch, "0nul\x00name")


def test_a_subuser_name_stored_repaired_is_never_sent_and_never_deleted(
    sim: Any, repaired_name: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: the tenant stayed ``connected`` (the subuser "deleted now, not a problem", its
    ``subuser_credits`` id "vanished"), no reject. Now: one reject per stream, degraded, one
    alert, every stream ``ok``, the other subusers load; no request names the repaired name."""
    conn, name, others = repaired_name
    stored = name.replace("\x00", "\ufffd")
    caplog.set_level(logging.INFO)
    streams = ["subusers", "bounces", "subuser_credits", "subuser_stats"]
    _runs_ok_degraded_once(sim, conn, streams, others)
    status = {r["stream"]: r["detail"] or "" for r in _rows(conn, "stream_status")}
    for stream, detail in status.items():
        assert "deleted" not in detail, (stream, detail)
    rejects = _rows(conn, "rejects")
    assert {r["stream"] for r in rejects} >= {"bounces", "subuser_credits", "subuser_stats"}
    [unit] = [r for r in rejects if r["stream"] == "bounces"]
    assert unit["reason"] == REASON
    assert unit["subuser"] == stored
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"subuser {stored} not read" in m for m in warnings), warnings
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("sendgrid")]
    for word in ("refused", "vanished", "skipped"):  # never sent, so never answered
        assert not [m for m in ours if stored in m and word in m], (word, ours)


@pytest.mark.parametrize("name", ["0nul\x00name", "0lone\udc80name"])
def test_a_name_as_staging_stores_it_is_unusable_when_it_was_repaired(name: str) -> None:
    """The rule behind the test above, for both characters the repair replaces (the simulator
    cannot serve a lone surrogate in its truth); a name as SendGrid gave it stays usable."""
    stored = clean(name, Counter())
    assert stored != name
    assert unusable_unit(stored) == REASON
    assert unusable_unit("0plain-name") is None
    assert unusable_unit("caf\u00e9") is None  # non-ASCII is sent as UTF-8
