"""Query-parameter parsing with the API's 400 errors."""

from __future__ import annotations

import datetime as dt

from .errors import ParamError
from .wire import Request


def integer(
    req: Request, name: str, default: int | None = None, lo: int | None = None,
    hi: int | None = None, required: bool = False
) -> int | None:  # fmt: skip
    """Parse an integer parameter.

    Raises:
        ParamError: Missing (when required), not an integer, or out of ``[lo, hi]``.
    """
    raw = req.q(name)
    if raw is None or raw == "":
        if required:
            raise ParamError(name, f"{name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(name, f"{name} must be an integer") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ParamError(name, f"{name} must be {bounds}")
    return value


def date(req: Request, name: str, default: dt.date | None = None, required: bool = False):
    """Parse a ``YYYY-MM-DD`` parameter.

    Raises:
        ParamError: Missing (when required) or malformed.
    """
    raw = req.q(name)
    if raw is None or raw == "":
        if required:
            raise ParamError(name, "missing required argument")
        return default
    try:
        return dt.date.fromisoformat(raw) if len(raw) == 10 else _bad(name)
    except ValueError:
        return _bad(name)


def _bad(name: str):
    raise ParamError(name, "invalid date format; expected YYYY-MM-DD")


def choice(req: Request, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    """Parse an enumerated parameter.

    Raises:
        ParamError: Value not in ``allowed``.
    """
    raw = req.q(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise ParamError(name, f"{name} must be one of: {', '.join(allowed)}")
    return raw


def boolean(req: Request, name: str, default: bool = False) -> bool:
    """Parse ``true``/``false`` (anything else is the default)."""
    raw = (req.q(name) or "").lower()
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    return default
