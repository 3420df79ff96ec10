"""``make demo ARGS="--advance-days N"`` says that its times are simulated.

The marts are built as of the simulated day, the syncs stamped with the wall clock: the
dashboard showed freshly synced data as "Data age 3.0 days" without a word why.
"""

from __future__ import annotations

import datetime as dt

from sendgrid_demo.main import clock_note

TODAY = dt.date(2026, 12, 7)


def test_a_clock_ahead_of_the_wall_clock_is_explained() -> None:
    note = clock_note("2026-12-10", TODAY)
    assert note is not None
    assert "times are simulated" in note
    assert "3 days ahead of the wall clock" in note
    assert '"Data age" reads' in note
    assert max(len(line) for line in note.splitlines()) <= 100
    assert "1 day ahead" in (clock_note("2026-12-08", TODAY) or "")


def test_no_note_when_the_simulated_today_is_not_ahead() -> None:
    assert clock_note("2026-12-07", TODAY) is None
    assert clock_note("2026-11-30", TODAY) is None
