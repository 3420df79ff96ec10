"""A tenant's time budget inside an extract task that Airflow kills after its timeout.

The budget (:func:`time_budget_for`) ends the tenant's streams cleanly before Airflow's
``execution_timeout`` would: finished streams and checkpoints are saved, the tenant is
``partial`` (:class:`TimeBudgetEnded`) and the next run resumes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sendgrid_elt import settings
from sendgrid_elt.stream_outcome import StreamsFailed


def time_budget_for(timeout: dt.timedelta | None) -> float | None:
    """Seconds a tenant may use inside a task that is killed after ``timeout``.

    The rest of the timeout (5 %, at least 5 minutes, at most half of it) is left for what may
    run past the budget (an OAuth token refresh: its lock wait and its own request deadline)
    and for saving the last batch, ``stream_status`` and health, so the task ends by itself,
    cleanly, before Airflow's ``execution_timeout`` kills it.
    """
    if timeout is None:
        return None
    total = timeout.total_seconds()
    margin = min(max(300.0, 0.05 * total), 0.5 * total)
    return total - margin


class TimeBudgetEnded(StreamsFailed):
    """The tenant's time budget ended while its streams ran: not finished, not failed.

    Finished streams and committed checkpoints are saved, the unfinished streams say so in
    ``stream_status``. An immediate retry would run out of time the same way (holding back
    every tenant's marts for hours), so the batch records the tenant ``partial`` and the next
    run resumes it (a stream that had also failed otherwise too); a backfill run's batch still
    fails for it (see :mod:`sendgrid_elt.batches`).
    """


def budget_end(
    tenant_id: str, budget: float | None, seconds: float, exc: StreamsFailed, *, backfill: bool
) -> TimeBudgetEnded:
    left = ", ".join(sorted(n for n, o in exc.outcomes.items() if o.status == "error")) or "-"
    then = "the retry of this backfill run resumes" if backfill else "the next run resumes"
    return TimeBudgetEnded(
        f"tenant {tenant_id}: time budget of {budget or 0:.0f} s used up after {seconds:.0f} s; "
        f"not finished: {left}; finished streams and checkpoints are saved ({then})",
        exc.outcomes,
    )


def budget_ended(hook: Any, outcomes: dict[str, Any], deadline: Any) -> bool:
    """Whether the time budget ended the streams.

    Its clock ran out, a stream ended on it (a wait that no longer fitted: the outcome's
    ``budget_ended``, set where the error became the outcome, never guessed from ``detail``), or
    a warehouse statement was canceled after it.
    """
    left = hook.time_left()
    return (
        (left is not None and left <= 0)
        or (deadline is not None and deadline.fired)
        or any(o.status == "error" and getattr(o, "budget_ended", False)
               for o in outcomes.values())
    )  # fmt: skip


def task_timeout(context: Any) -> dt.timedelta | None:
    task = context.get("task") if hasattr(context, "get") else None
    timeout = getattr(task, "execution_timeout", None)
    return timeout if isinstance(timeout, dt.timedelta) else settings.EXTRACT_TASK_TIMEOUT
