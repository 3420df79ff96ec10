"""What one stream of one tenant came to: its outcome, and the exceptions that carry outcomes.

Statuses (also the ``stream_status`` table's): ``ok``, ``missing_scope``, ``not_licensed``,
``error`` (see :mod:`sendgrid_elt.extract`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class StreamOutcome:
    """Result of one stream for one tenant (no secrets: safe for logs, XCom, asset extras)."""

    stream: str
    status: str
    records: int = 0
    requests: int = 0
    seconds: float = 0.0
    detail: str | None = None
    rejected: int = 0
    repaired: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "status": self.status,
            "records": self.records,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            **({"rejected": self.rejected} if self.rejected else {}),
            **({"repaired": self.repaired} if self.repaired else {}),
            **({"detail": self.detail} if self.detail else {}),
        }


class StreamsFailed(Exception):
    """Some streams of a tenant ended in ``error`` (the others were loaded).

    Attributes:
        outcomes: Every stream's outcome (the failed ones and the loaded ones).
    """

    def __init__(self, message: str, outcomes: dict[str, StreamOutcome]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


class Skip(Exception):
    """The stream is skipped with a status (missing scope / not licensed)."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
