"""The requests of one unit of a stream, and their pages of staging rows.

:func:`plan_requests` turns a catalog spec into request sequences (date windows, fan-out per
parent id, chunks of ids); :func:`read_pages` reads them through the hook and shapes each page.
One parent id's failed read is named, not raised, so the unit's other parents still load.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from sendgrid_hook import errors

from sendgrid_elt import catalog
from sendgrid_elt.stream_outcome import TENANT_ERRORS, AllParentsGone, failure, refusal
from sendgrid_elt.windows import request_windows

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec
    from sendgrid_elt.records import Page, Shaper

log = logging.getLogger(__name__)

#: One request sequence: path, query parameters, and the parent id it reads (fan-out by path).
Request = tuple[str, dict[str, Any], str | None]


class Part(NamedTuple):
    """A parent id of a unit that was not read; its rows are kept.

    Refused: a 403/451 on its first page (SendGrid's answer about it); failed: anything else
    after the retries.
    """

    pid: str
    why: str
    refused: bool


def plan_requests(
    spec: StreamSpec,
    unit: str,
    cursor: dict,
    parent_ids: Callable[[StreamSpec, str, str], list[str]],
    *,
    start_date: dt.date | None,
    today: dt.date,
) -> Iterator[Request]:
    """Yield every request sequence of one unit.

    Args:
        spec: The stream.
        unit: The subuser read on behalf of (``''``: the parent account).
        cursor: The unit's stored cursor (``{}``: none).
        parent_ids: Ids of a fan-out parent stream's current rows, ``(parent, field, unit)``.
        start_date: Backfill from this day, else the cursor.
        today: The API's current date.
    """
    base = dict(spec.params)
    windows = request_windows(spec, cursor.get("value"), start_date=start_date, today=today,
                              settled=bool(cursor.get("settled")))  # fmt: skip
    for window in windows:
        params = {**base, **window}
        fan = spec.fan_out
        if fan is None:
            yield spec.path, params, None
            continue
        parent_unit = unit if catalog.get(fan.parent).per_subuser else ""
        ids = parent_ids(catalog.get(fan.parent), fan.field, parent_unit)
        if fan.path_param:
            for pid in ids:
                yield spec.path.replace(f"{{{fan.path_param}}}", quote(pid, safe="")), params, pid
        else:
            for i in range(0, len(ids), fan.chunk):
                chunk = ids[i : i + fan.chunk]
                value = ",".join(chunk) if fan.joined else chunk
                yield spec.path, {**params, fan.param: value}, None


def read_pages(
    hook: Any, spec: StreamSpec, unit: str, plan: list[Request], shaper: Shaper, parts: list[Part]
) -> Iterator[Page]:
    """Pages of rows (HTTP and shaping; may run in the loader's prefetch thread).

    One parent id's refused or failed read does not stop the others: it is named in ``parts``
    (the unit then keeps its rows but not its cursor), unless no parent was read, which is the
    unit's answer (raised as such). A parent that answers 404 was deleted: skipped.

    Raises:
        AllParentsGone: Every parent id answered 404: the unit was refused, not emptied.
    """
    obo = unit or None
    gone: list[Any] = []
    last: errors.SendGridError | None = None
    for path, params, pid in plan:
        pages = hook.iter_record_pages(
            path,
            pagination=spec.pagination,
            records_path=spec.records_path,
            params=params,
            page_size=spec.page_size,
            on_behalf_of=obo,
            page_items=spec.page_items,
        )
        got = False
        try:
            for records in pages:
                got = True
                yield shaper.rows(records, unit, pid)
        except TENANT_ERRORS:
            raise
        except errors.SendGridError as exc:
            if pid is None:
                raise
            if isinstance(exc, errors.SendGridFatalError) and errors.is_gone(exc):
                gone.append(exc)
                log.info("stream %s: parent %s vanished (%s), skipped", spec.name, pid,
                         exc.status_code)  # fmt: skip
                continue
            last = exc
            why = None if got else refusal(exc)
            parts.append(Part(pid, why or failure(exc), refused=why is not None))
            log.warning("stream %s: parent %s %s, next parent: %s", spec.name, pid,
                        "refused" if why else "failed", parts[-1].why)  # fmt: skip
    if plan and len(gone) == len(plan):  # not one parent left: a refusal, not deletions
        parent = spec.fan_out.parent if spec.fan_out else "parent"
        raise AllParentsGone(f"every {parent} id answered {gone[-1].status_code}")
    if last is not None and len(gone) + len(parts) == len(plan):
        parts.clear()  # no parent was read: the unit's read failed (or was refused)
        raise last
