"""What one stream of one tenant came to: its outcome, and the exceptions that carry outcomes.

Statuses (also the ``stream_status`` table's):

* ``missing_scope`` - the credential lacks the stream's scope (checked against ``/v3/scopes``
  up front, or a 403 on a stream that needs no plan feature): skipped, the rest run;
* ``not_licensed`` - 403/404 on a stream tied to a plan feature: a utilization fact;
* ``error`` - anything else: what the hook raised after its retries (a 404 on a stream tied
  to no plan feature included: it says nothing about the plan), or any unexpected exception
  (its type and message are kept in ``detail``); the other streams still run and the task
  fails at the end (Airflow retries it; reruns converge);
* ``ok`` - loaded; ``rejected``/``repaired`` count the records :mod:`sendgrid_elt.records` put
  in the rejects table or stored with replaced values.
  A subuser SendGrid refuses (403, 404, or 451 for data kept in another region) is skipped and
  named in ``detail``; the stream's other units load. ``skipped`` keeps the ones that still
  exist (their volume is missing from the tenant's totals: a health problem of kind
  ``skipped_units``); a subuser deleted or disabled since the run read the subuser list is
  only named (see :mod:`sendgrid_elt.subuser_roster`).
  A complete read that would mark most of a unit's keys deleted at once leaves the stream
  ``ok`` with the unit in ``held`` and named in ``detail``: nothing of it is deleted until the
  next complete read agrees (a health problem of kind ``held_deletions``, see
  :mod:`sendgrid_elt.snapshot_guard`).
  A fan-out's parent id refused (403/451) while its parent list reads (an API key, a template:
  :mod:`sendgrid_elt.unit_reads`) keeps its rows and leaves the stream ``ok`` with the id in
  ``refused``: its data is missing, a health problem of kind ``refused_ids``. A refused id of
  a fan-out over the subuser list is a refused subuser instead (``skipped``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sendgrid_hook import errors
from sendgrid_hook.display import printable, shorten
from sendgrid_hook.redaction import scrub

from sendgrid_elt.rejects import oversized, storable

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec


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
    #: Subuser -> why SendGrid refused it, of those that still exist (:mod:`subuser_roster`).
    skipped: dict[str, str] = field(default_factory=dict)
    #: Unit -> its deletion held this run, in words (:mod:`sendgrid_elt.snapshot_guard`).
    held: dict[str, str] = field(default_factory=dict)
    #: Parent id -> why SendGrid refused it, of a fan-out over another list than the subusers'
    #: (an API key, a template): its rows kept, its data missing (:mod:`unit_reads`).
    refused: dict[str, str] = field(default_factory=dict)
    #: The stream ended on the tenant's time budget (set by :func:`errored`, never read from
    #: ``detail``'s text): the tenant is ``partial``, not failed (:mod:`sendgrid_elt.batches`).
    budget_ended: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "status": self.status,
            "records": self.records,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            **({"rejected": self.rejected} if self.rejected else {}),
            **({"repaired": self.repaired} if self.repaired else {}),
            **({"skipped": len(self.skipped)} if self.skipped else {}),
            **({"held": len(self.held)} if self.held else {}),
            **({"refused": len(self.refused)} if self.refused else {}),
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


class AllParentsGone(Exception):
    """No parent id of a path fan-out unit read, and its list still holds one that answered 404.

    (Or ``No user found``; a chunk's ids refused alone are named one by one instead, and ids
    gone while the list no longer holds them are deletions: :mod:`sendgrid_elt.unit_reads`.)

    An id the list holds but its own endpoint says is gone is an answer about the unit, not a
    deletion: the unit is skipped and its rows are kept.
    """


#: Errors about the whole tenant (credential, budgets, settings): they stop its run at once,
#: never counted as one unit's or one parent's failed read.
TENANT_ERRORS: tuple[type[errors.SendGridError], ...] = (
    errors.ReconnectRequired,
    errors.SendGridBudgetExceededError,
    errors.SendGridTimeBudgetExceededError,
    errors.SendGridConfigError,
)


def failure(exc: BaseException, limit: int = 200) -> str:
    """A failure's reason for ``detail``, health and logs: type and scrubbed message, cut (…).

    What PostgreSQL text cannot hold (a NUL or a lone surrogate echoed from an error body or a
    pagination link) is written as a visible escape (:func:`~sendgrid_elt.rejects.storable`):
    saving the reason must never fail in turn; so is any other non-printable character
    (:func:`printable`).
    """
    name, hint = type(exc).__name__, _WAREHOUSE_HINTS.get(getattr(exc, "sqlstate", None) or "")
    if hint:  # said before PostgreSQL's text: what the error means survives the cut
        name = f"{name} ({hint})"
    return shorten(printable(storable(scrub(f"{name}: {exc}"))), limit)


def errored(outcome: StreamOutcome, exc: BaseException, limit: int = 500) -> None:
    """Mark ``outcome`` failed by ``exc``: ``error``, :func:`failure`'s reason, and the flag.

    ``budget_ended`` says that the tenant's time budget ended the stream
    (:class:`~sendgrid_hook.errors.SendGridTimeBudgetExceededError`), whatever ``detail`` says.
    """
    outcome.status, outcome.detail = "error", failure(exc, limit)
    outcome.budget_ended = isinstance(exc, errors.SendGridTimeBudgetExceededError)


#: What a warehouse statement's cancellation means here, by SQLSTATE (see
#: :mod:`sendgrid_elt.statement_deadline`).
_WAREHOUSE_HINTS = {
    "55P03": "a warehouse statement waited longer than its lock timeout (for the tenant's "
    "statements SENDGRID_WAREHOUSE_LOCK_TIMEOUT_SECONDS) for a lock another session holds; its "
    "transaction rolled back, the retry resumes",
    "57014": "a warehouse statement was canceled: the tenant's time budget ended while it ran, a "
    "statement_timeout, or an administrator; its transaction rolled back, the retry resumes",
}


def refusal(exc: Any) -> str | None:
    """Why SendGrid refused one unit's read (``None``: not a refusal, the read failed).

    403 and 404 answer about the subuser's scopes or plan; 451 says its data lives in another
    region (an EU subuser read through the global host: connect it with region ``eu``).
    """
    if errors.is_temporary_block(exc):
        return None  # a pause SendGrid imposes, no answer about scope or plan
    if isinstance(exc, errors.SendGridForbiddenError) or errors.is_gone(exc):
        return str(exc.status_code)
    if errors.is_data_residency(exc):
        return "451: data in another region, connect it with region eu"
    return None


def endpoint_refused(hook: Any, exc: Any) -> str | None:
    """Why a stream's 401 is that stream's failed read, not the tenant's dead credential.

    The credential is asked about once more (``/v3/scopes``). Accepted: only this endpoint
    refused it. Unanswered (a 5xx or a timeout after the hook's retries): nobody can tell, so
    the stream fails and the next run asks again, rather than a reconnect alert on a guess.
    Refused too (``ReconnectRequired``), or no way to ask: ``None``, the 401 stands and the
    tenant needs reconnecting.
    """
    confirm = getattr(hook, "confirm_credential", None)
    if exc.status_code != 401 or confirm is None:
        return None
    try:
        confirm()
    except errors.ReconnectRequired:
        return None
    except errors.SendGridError as unanswered:
        return (f"{exc}; whether the credential still works could not be asked (/v3/scopes: "
                f"{unanswered}): the next run asks again")  # fmt: skip
    return f"{exc}; only this endpoint refused the credential (/v3/scopes accepts it)"


def licence_skip(spec: StreamSpec, exc: Any) -> Skip:
    """The outcome that a 403/404 on the parent account means.

    The plan lacks the stream's feature or, for a stream without one, the key its scope (403).
    A 404 on a stream tied to no plan feature says nothing about the plan (the endpoint moved
    or was retired, or SendGrid failed): ``error`` with the reason, never ``not_licensed`` (a
    zero in the marts, and no alert).
    """
    code = getattr(exc, "status_code", None)
    if spec.feature:
        return Skip("not_licensed", f"{code} on {spec.path}: plan lacks {spec.feature}")
    if code == 403:
        return Skip("missing_scope", f"403 on {spec.path} (scope {spec.scope})")
    why = f"{code} on {spec.path}, a stream tied to no plan feature (endpoint retired?)"
    return Skip("error", f"{why}: {failure(exc, 300)}")


def units_detail(
    failed: dict[str, str],
    unread: list[str],
    refused: list[str],
    skipped: dict[str, str],
    ignored: list[str],
    unusable: list[str],
    *,
    deleted: int = 0,
    in_a_row: int = 3,
    held: Iterable[str] = (),
    gone: Sequence[str] = (),
) -> str | None:
    """The ``detail`` of a stream's units: what failed, was not read, skipped or ignored.

    Units are named as :func:`printable` writes them.

    Args:
        failed: Unit -> why its read failed (rows and cursor kept).
        unread: Units not tried after ``in_a_row`` failures in a row.
        refused: Parent ids refused, each with why.
        skipped: Unit -> why SendGrid refused it (rows kept).
        ignored: Units whose stored cursor was ignored, each with why.
        unusable: Units whose name cannot be used (too long for an index entry, not
            sendable as ``on-behalf-of``): not read, one reject each.
        deleted: Keys the snapshot marked deleted.
        in_a_row: The failures in a row that leave the other units for the next run.
        held: Deletions held, in words (:meth:`~sendgrid_elt.snapshot_guard.Held.text`).
        gone: A path fan-out's parent ids deleted since the list was read (404 or ``400 No
            user found``; :mod:`sendgrid_elt.unit_reads`): named, no problem.
    """
    detail = []
    if failed:
        units_failed = ", ".join(f"{u or 'parent'} ({why})" for u, why in failed.items())
        detail.append(f"units failed, rows kept, cursor kept: {units_failed}")
    if unread:
        names = ", ".join(u or "parent" for u in unread[:10])
        more = f" and {len(unread) - 10} more" if len(unread) > 10 else ""
        detail.append(f"{len(unread)} units not read after {in_a_row} failed in a row: "
                      f"{names}{more}")  # fmt: skip
    if refused:
        detail.append(shorten(f"parent ids refused, rows kept: {', '.join(refused)}", 300))
    if gone:
        more = f" and {len(gone) - 10} more" if len(gone) > 10 else ""
        detail.append(f"parent ids deleted since the list was read ({len(gone)}): "
                      f"{', '.join(gone[:10])}{more}")  # fmt: skip
    if deleted:
        detail.append(f"{deleted} keys marked deleted")
    detail.extend(held)
    if skipped:
        kept_units = ", ".join(f"{u or 'parent'} ({why})" for u, why in skipped.items())
        detail.append(f"units skipped, rows kept: {kept_units}")
    if unusable:
        names = ", ".join(f"{u[:40]}... ({len(u.encode('utf-8', 'replace'))} bytes)"
                          if oversized(u) else u for u in unusable)  # fmt: skip
        detail.append(f"units not read, name too long to label rows or not sendable as "
                      f"on-behalf-of (see rejects): {names}")  # fmt: skip
    if ignored:
        detail.append(f"stored cursor ignored, re-read from the start: {', '.join(ignored)}")
    return printable("; ".join(detail)) or None
