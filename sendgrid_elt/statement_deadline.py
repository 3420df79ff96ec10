"""No warehouse statement of a tenant outlives its time budget, and no lock wait lasts forever.

The hook stops sending requests when a tenant's time budget ends, but a statement PostgreSQL is
still running (a batch waiting behind another session's table lock, a merge on a server under
load) does not look at that budget. It would keep its tenant thread, and so its batch task,
alive past the task's ``execution_timeout``: Airflow's timeout cannot stop a thread.

* :func:`set_lock_timeout` bounds every lock wait of a tenant's warehouse sessions
  (``lock_timeout``, :data:`~sendgrid_elt.settings.WAREHOUSE_LOCK_TIMEOUT_SECONDS`), set once
  the session is open (not as a libpq ``options`` startup parameter, which PgBouncer refuses):
  the statement fails with ``LockNotAvailable``, its stream with it, and the others go on.
* :class:`StatementDeadline` cancels the statement a tenant's connection still runs
  :data:`GRACE_SECONDS` after the tenant's budget ended (the last batch's commit fits in it):
  the statement fails with ``QueryCanceled``, its transaction rolls back and the retry resumes
  from the last committed cursor.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sendgrid_elt import settings

log = logging.getLogger(__name__)

#: Seconds a statement may still run after its tenant's time budget ended (the task keeps a
#: reserve of at least 5 minutes after the budget: :func:`~sendgrid_elt.extract_load.
#: time_budget_for`).
GRACE_SECONDS = 60.0


def set_lock_timeout(dbapi_conn: Any) -> None:
    """Bound the lock waits of an open psycopg session (committed when not in autocommit)."""
    ms = int(settings.WAREHOUSE_LOCK_TIMEOUT_SECONDS * 1000)
    dbapi_conn.execute("select set_config('lock_timeout', %s, false)", (f"{ms}ms",))
    if not dbapi_conn.autocommit:
        dbapi_conn.commit()  # a rollback of the open transaction would undo the setting


class StatementDeadline:
    """Cancel the statement ``conn`` runs once ``seconds`` (plus :data:`GRACE_SECONDS`) passed.

    A context manager around one tenant's work on its connection; ``seconds=None`` (no budget)
    cancels nothing. The cancel is psycopg's :meth:`~psycopg.Connection.cancel_safe`: a request
    on a separate connection, which ends only a statement in progress. Leaving the block waits
    for a cancel already under way, so none reaches the next tenant's work on the same
    (reused) connection.

    Args:
        conn: The tenant's psycopg connection.
        seconds: The tenant's time budget.
        tenant_id: Named in the log line of a cancel.
        grace: Seconds after the budget before the cancel (default :data:`GRACE_SECONDS`).
    """

    def __init__(
        self, conn: Any, seconds: float | None, tenant_id: str, *, grace: float | None = None
    ) -> None:
        grace = GRACE_SECONDS if grace is None else grace
        self.conn, self.tenant_id, self.fired, self.grace = conn, tenant_id, False, grace
        self._after = None if seconds is None else max(0.0, seconds) + grace
        self._timer: threading.Timer | None = None
        self._lock, self._active = threading.Lock(), True

    def __enter__(self) -> StatementDeadline:
        if self._after is not None:
            self._timer = threading.Timer(self._after, self._cancel)
            self._timer.daemon = True
            self._timer.name = f"deadline-{self.tenant_id}"
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with self._lock:  # a cancel under way finishes first; none starts after this
                self._active = False

    def _cancel(self) -> None:
        with self._lock:
            if self._active:
                self._send_cancel()

    def _send_cancel(self) -> None:  # under the lock: __exit__ waits for it
        self.fired = True
        log.warning(
            "tenant %s: time budget ended %.0f s ago; canceling the warehouse statement still "
            "running (its transaction rolls back, the retry resumes)",
            self.tenant_id, self.grace,
        )  # fmt: skip
        try:
            self.conn.cancel_safe(timeout=10.0)
        except Exception as exc:  # the connection closed meanwhile: nothing runs on it
            log.info("tenant %s: no statement to cancel (%s)", self.tenant_id, type(exc).__name__)
