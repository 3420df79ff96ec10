"""How an instant is written for people, in one format everywhere.

Alert e-mails, the Connect page, the demo's terminal summary and the dashboard write instants
with :func:`human_instant` (machine-facing values, such as asset extras and XCom, stay ISO 8601).
"""

from __future__ import annotations

import datetime as dt

#: ``2026-11-28 06:00 UTC``: minutes, always UTC (the pipeline's instants are all UTC).
HUMAN_INSTANT_FORMAT = "%Y-%m-%d %H:%M UTC"


def human_instant(value: dt.datetime | None, missing: str = "—") -> str:
    """``2026-11-28 06:00 UTC`` for an aware instant, ``missing`` for ``None``.

    A naive value is taken as UTC (PostgreSQL ``timestamp`` columns the pipeline writes in UTC).
    """
    if value is None:
        return missing
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime(HUMAN_INSTANT_FORMAT)
