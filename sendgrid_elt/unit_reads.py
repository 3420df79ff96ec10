"""The requests of one unit of a stream, and their pages of staging rows.

:func:`plan_requests` turns a catalog spec into request sequences (date windows, fan-out per
parent id, chunks of ids); :func:`read_pages` reads them through the hook and shapes each page.
One parent id's failed read is named, not raised, so the unit's other parents still load. A
chunk of ids refused on its first page (400, 403, 404, 451: an answer about one of its ids, such
as a subuser deleted since the list was read) is split in halves down to single ids, so the ids
it refuses are named as a path fan-out's parent ids are and every other id is read.

An id refused alone (403, 451, a 404 or SendGrid's ``400 No user found``: the id is in a query
parameter, not a resource path) is named and skipped; any other 400 is a failed read, an error
the user sees. A chunk every id of which is refused alone is the plan's (or the credential's)
answer only when the parent list, asked once more, refuses too (a plan without a feature
answers 403 on every endpoint of it); while the list reads, the plan has the feature and the
refusals are about the ids: named, never ``not_licensed``, and the unit's later chunks are read
whole (not split id by id again).

A path fan-out (one request per id: ``subuser_credits``, ``api_key_scopes``,
``template_versions``) follows the same rule. Its list is read with the same scope and plan
feature as its ids (``/v3/subusers``, ``/v3/api_keys``, ``/v3/templates``), so an id refused
(403) while the list reads is SendGrid's answer about that id, and an id that answers 404 (or
``400 No user found``, SendGrid's answer for an unknown subuser) was deleted since the list was
read: named in the stream's detail, no problem. Only when no id of the unit was read is the
list asked once more (:func:`_none_read`). What the ids not read mean for the outcome and the
snapshot (refused ids a health problem, deleted ones deleted): :mod:`sendgrid_elt.unit_parts`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from sendgrid_hook import errors
from sendgrid_hook.display import printable

from sendgrid_elt import catalog
from sendgrid_elt.stream_outcome import (
    TENANT_ERRORS,
    AllParentsGone,
    failure,
    refusal,
)
from sendgrid_elt.windows import request_windows

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec
    from sendgrid_elt.records import Page, Shaper

log = logging.getLogger(__name__)

#: Statuses on a chunk's first page that may be about one of its ids (split to find which).
_ABOUT_IDS = frozenset({400, 403, 404, 451})


class Request(NamedTuple):
    """One request sequence of a unit.

    Attributes:
        path: The endpoint (a path fan-out's id already in it).
        params: Query parameters (a chunk's ids already in them).
        pid: The parent id a path fan-out reads (``None`` otherwise).
        ids: The parent ids of a chunk (fan-out by query parameter; ``()`` otherwise).
    """

    path: str
    params: dict[str, Any]
    pid: str | None = None
    ids: tuple[str, ...] = ()


class Part(NamedTuple):
    """A parent id of a unit that was not read; its rows are kept.

    Refused: a 403/451 on its first page (SendGrid's answer about it), or for an id of a chunk
    a 404 or ``400 No user found``; failed: anything else after the retries.
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
                              settled=cursor.get("settled") or False)  # fmt: skip
    for window in windows:
        params = {**base, **window}
        fan = spec.fan_out
        if fan is None:
            yield Request(spec.path, params)
            continue
        parent_unit = unit if catalog.get(fan.parent).per_subuser else ""
        ids = parent_ids(catalog.get(fan.parent), fan.field, parent_unit)
        if fan.path_param:
            for pid in ids:
                path = spec.path.replace(f"{{{fan.path_param}}}", quote(pid, safe=""))
                yield Request(path, params, pid)
        else:
            for i in range(0, len(ids), fan.chunk):
                yield _chunk(spec, params, tuple(ids[i : i + fan.chunk]))


def _chunk(spec: StreamSpec, params: dict[str, Any], ids: tuple[str, ...]) -> Request:
    """The request of a chunk of parent ids (``params``: without the ids)."""
    fan: Any = spec.fan_out
    value = ",".join(ids) if fan.joined else list(ids)
    return Request(spec.path, {**params, fan.param: value}, None, ids)


def _about_ids(exc: errors.SendGridError) -> bool:
    """Whether a chunk's refusal on its first page may be about one of its ids."""
    return (isinstance(exc, errors.SendGridFatalError) and exc.status_code in _ABOUT_IDS
            and not errors.is_temporary_block(exc))  # fmt: skip


class _Tally:
    """What a unit's requests came to: ids read or not, the gone ones, the last error."""

    def __init__(self) -> None:
        self.ids = 0  # parent ids asked for (a path fan-out's requests, a chunk's ids)
        self.gone: list[str] = []  # a path fan-out's parent ids that answered 404 / No user found
        self.gone_status: int | None = None
        self.last: errors.SendGridError | None = None
        #: A whole chunk was refused id by id while the parent list reads: the refusals are
        #: about this unit's ids, later chunks are not split.
        self.about_ids = False


def read_pages(
    hook: Any, spec: StreamSpec, unit: str, plan: list[Request], shaper: Shaper,
    parts: list[Part], gone: list[str] | None = None,
) -> Iterator[Page]:  # fmt: skip
    """Pages of rows (HTTP and shaping; may run in the loader's prefetch thread).

    One parent id's refused or failed read does not stop the others: it is named in ``parts``
    (the unit then keeps its rows but not its cursor). A path fan-out's parent that answers 404
    (or ``400 No user found``) was deleted: its id is appended to ``gone`` once the unit's
    pages are read; when no parent of a path fan-out was read, see :func:`_none_read`. A chunk
    of ids refused on its first page is read again in halves, down to the ids refused alone,
    which are named in ``parts`` (see the module docstring for when a chunk refused id by id
    is the unit's answer instead); any other failure of a chunk (a 5xx after the retries, a
    later page) is the unit's, raised. One INFO line counts the ids not read.

    Raises:
        AllParentsGone: No parent id read, some answered 404 while the list still holds them:
            the unit was refused, not emptied.
    """
    tally = _Tally()
    for request in plan:
        tally.ids += len(request.ids) if request.ids else int(request.pid is not None)
        yield from _read(hook, spec, unit, request, shaper, parts, tally)
    if parts or tally.gone:
        refused = sum(p.refused for p in parts)
        log.info("stream %s[%s]: %d of %d parent ids not read (%d refused, %d failed, %d gone)",
                 spec.name, printable(unit or "parent"), len(parts) + len(tally.gone), tally.ids,
                 refused, len(parts) - refused, len(tally.gone))  # fmt: skip
    chunked = any(r.ids for r in plan)  # a chunk's ids tell their own answer (_refused_chunk)
    if not chunked and tally.ids and len(parts) + len(tally.gone) == tally.ids:
        _none_read(hook, spec, unit, parts, tally)
    if gone is not None:
        gone.extend(tally.gone)


def _read(
    hook: Any, spec: StreamSpec, unit: str, request: Request, shaper: Shaper,
    parts: list[Part], tally: _Tally, top: bool = True,
) -> Iterator[Page]:  # fmt: skip
    """The pages of one request; a refused chunk is read again in halves (see above)."""
    pages = hook.iter_record_pages(
        request.path,
        pagination=spec.pagination,
        records_path=spec.records_path,
        params=request.params,
        page_size=spec.page_size,
        on_behalf_of=unit or None,
        page_items=spec.page_items,
        route=spec.path,  # a path fan-out's ids share their endpoint's rate limit
    )
    got = False
    try:
        for records in pages:
            got = True
            yield shaper.rows(records, unit, request.pid)
    except TENANT_ERRORS:
        raise
    except errors.SendGridError as exc:
        if request.ids:
            if got or not _about_ids(exc):
                raise  # not an answer about the chunk's ids: the unit's read failed
            yield from _refused_chunk(hook, spec, unit, request, shaper, parts, tally, exc, top)
            return
        pid = request.pid
        if pid is None:
            raise
        if isinstance(exc, errors.SendGridFatalError) and errors.is_gone(exc):
            tally.gone.append(pid)
            tally.gone_status = exc.status_code
            log.info("stream %s: parent %s vanished (%s), skipped", spec.name, printable(pid),
                     exc.status_code)  # fmt: skip
            return
        tally.last = exc
        why = None if got else refusal(exc)
        parts.append(Part(pid, why or failure(exc), refused=why is not None))
        log.warning("stream %s: parent %s %s, next parent: %s", spec.name, printable(pid),
                    "refused" if why else "failed", parts[-1].why)  # fmt: skip


def _refused_chunk(
    hook: Any, spec: StreamSpec, unit: str, request: Request, shaper: Shaper,
    parts: list[Part], tally: _Tally, exc: errors.SendGridError, top: bool,
) -> Iterator[Page]:  # fmt: skip
    """A chunk refused on its first page: its halves' pages, its ids refused named in ``parts``.

    A top-level chunk every id of which was refused alone is the unit's answer (``exc``,
    raised) when the parent list refuses too; else the refusals are about the ids and the
    unit's later chunks are read whole, their refused ids named with their chunk.
    """
    ids, mark = request.ids, len(parts)
    if len(ids) > 1 and not tally.about_ids:
        log.info("stream %s: a chunk of %d ids refused (%s), read in halves", spec.name,
                 len(ids), exc.status_code)  # fmt: skip
        fan: Any = spec.fan_out
        params = {k: v for k, v in request.params.items() if k != fan.param}
        for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
            yield from _read(hook, spec, unit, _chunk(spec, params, half), shaper, parts,
                             tally, top=False)  # fmt: skip
    else:
        why = refusal(exc)
        with_chunk = f" with its chunk of {len(ids)}" if len(ids) > 1 else ""
        parts.extend(Part(pid, f"{why}{with_chunk}" if why else failure(exc), why is not None)
                     for pid in ids)  # fmt: skip
        tally.last = exc
        named = printable(ids[0]) + (f" and {len(ids) - 1} more ids" if len(ids) > 1 else "")
        log.warning("stream %s: parent %s %s, next parent: %s", spec.name, named,
                    "refused" if why else "failed", parts[-1].why)  # fmt: skip
    refused = parts[mark:]
    if top and not tally.about_ids and len(refused) == len(ids) and all(p.refused for p in refused):
        if _parent_list(hook, spec, unit)[0] is not None:
            del parts[mark:]  # the plan's or the credential's answer, not the ids'
            raise exc from None
        tally.about_ids = True
        log.info("stream %s: every id of a chunk refused alone while the %s list reads: "
                 "refusals about the ids, later chunks read whole", spec.name,
                 spec.fan_out.parent if spec.fan_out else "parent")  # fmt: skip


def _none_read(hook: Any, spec: StreamSpec, unit: str, parts: list[Part], tally: _Tally) -> None:
    """No parent id of a path fan-out was read: the unit's answer, or answers about its ids.

    Every id failed: the unit's read failed (the last failure, raised). Some failed, the others
    refused or gone: each stays named (an error naming the failed ids, not the plan's answer).
    Every id refused or gone: the parent list is asked once more, as for a chunk refused id by
    id. It refuses too: the unit's answer (an id's refusal, else the list's), raised: the plan
    lacks the feature or the credential the scope (``not_licensed``, ``missing_scope``), or,
    for a subuser's unit, the subuser was refused. It reads: the refusals are about the ids
    (``parts`` kept) and the gone ids were deleted, unless the list still holds one of them.

    Raises:
        SendGridError: The unit's answer or its failed read.
        AllParentsGone: The list still holds an id that answered 404: refused, not emptied.
    """
    failed = sum(not p.refused for p in parts)
    if failed == len(parts) + len(tally.gone) and tally.last is not None:
        parts.clear()
        raise tally.last  # every id failed: the unit's read failed
    if failed:
        return
    refused, listed = _parent_list(hook, spec, unit, find=tally.gone)
    parent = spec.fan_out.parent if spec.fan_out else "parent"
    if refused is not None:
        parts.clear()
        tally.gone.clear()
        raise tally.last or refused from None
    if listed:
        what = (f"every {parent} id answered {tally.gone_status}" if not parts else
                f"no {parent} id read ({len(parts)} refused, {len(tally.gone)} gone)")  # fmt: skip
        parts.clear()
        tally.gone.clear()
        raise AllParentsGone(f"{what}; the {parent} list still holds {len(listed)} of them")
    log.info("stream %s[%s]: no %s id read while the %s list reads: %d refused (named), %d "
             "deleted since the list was read", spec.name, printable(unit or "parent"), parent,
             parent, len(parts), len(tally.gone))  # fmt: skip


def _parent_list(
    hook: Any, spec: StreamSpec, unit: str, find: Collection[str] = ()
) -> tuple[errors.SendGridError | None, set[str]]:
    """The fan-out's parent list asked once more: its refusal, or which ids of ``find`` it holds.

    Its first page is read, or with ``find`` its pages until each id of ``find`` was seen.

    Returns:
        The list's refusal (a 403, 404 or 451: the plan's or the credential's answer, not the
        ids'), else ``None``; and the ids of ``find`` the list holds.

    Raises:
        SendGridError: The list's read failed otherwise: whose answer the refusals are is
            unknown, the unit's read failed.
    """
    fan: Any = spec.fan_out
    parent = catalog.get(fan.parent)
    pages = hook.iter_record_pages(
        parent.path,
        pagination=parent.pagination,
        records_path=parent.records_path,
        params=dict(parent.params),
        page_size=parent.page_size,
        on_behalf_of=(unit if parent.per_subuser else "") or None,
        page_items=parent.page_items,
        route=parent.path,
    )
    wanted: set[str] = set(find)
    held: set[str] = set()
    try:
        for records in pages:
            held |= {str(r.get(fan.field)) for r in records if isinstance(r, dict)} & wanted
            if held == wanted:
                break
    except TENANT_ERRORS:
        raise
    except errors.SendGridError as exc:
        if isinstance(exc, errors.SendGridFatalError) and refusal(exc) is not None:
            return exc, set()
        raise
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()
    return None, held
