"""How instants and counted words are written for people, in one format everywhere.

Alert e-mails, the Connect page, the Test button, the demo's terminal summary and the dashboard
write instants with :func:`human_instant` (machine-facing values, such as asset extras and XCom,
stay ISO 8601) and counted nouns with :func:`plural` ("1 scope", "3 scopes", never "scope(s)").
Text from SendGrid or a proxy that lands in a log line or a one-line reason is written with
:func:`printable`, and cut to fit with :func:`shorten`; a logger wrapped in :class:`PrintableLog`
writes every text argument so.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

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


def plural(word: str, count: Any, many: str | None = None) -> str:
    """``word`` for a count of one, else its plural (``many``, by default ``word + "s"``).

    A null count (unknown) takes the plural: "— streams".
    """
    return word if count is not None and int(count) == 1 else many or f"{word}s"


def printable(text: str) -> str:
    r"""``text`` with each non-printable character written as its escape: ``\n``, ``\x1b``.

    One line for logs, ``detail`` and alerts that shows what a name or an error holds: a
    subuser named ``"x\n[time] INFO - ..."`` or an error page's line breaks forged log lines,
    an ANSI escape reached the terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with "…" (never silent)."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


class PrintableLog(logging.LoggerAdapter):
    """A logger whose text arguments are written with :func:`printable` (one line each).

    For lines that quote names or answers from outside (a display name, a subuser, an error
    page): ``log = PrintableLog(logging.getLogger(__name__))``.
    """

    def __init__(self, logger: logging.Logger, extra: Any = None) -> None:
        super().__init__(logger, extra or {})

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log ``msg % args`` with each ``str`` argument made printable."""
        args = tuple(printable(a) if isinstance(a, str) else a for a in args)
        super().log(level, msg, *args, stacklevel=kwargs.pop("stacklevel", 1) + 1, **kwargs)
