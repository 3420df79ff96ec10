"""A snapshot's mass deletion waits for the next complete read to agree.

A snapshot stream marks deleted every current key that a complete read of its unit (the parent
account ``''`` or one subuser; for a stream whose rows are labelled with a parent id, each
label) did not return. SendGrid can answer wrongly but plausibly: an incident answering 200 with
``[]``, a page size silently capped below our ``limit`` without a ``Link`` header (the short
first page "ends" the list). Applied at once, such a read drops a unit's seats, keys, domains to
zero in the marts for a day, alerts fire, then everything comes back.

So a complete read that would mark deleted more than
:data:`~sendgrid_elt.settings.SNAPSHOT_HOLD_SHARE` of a unit's current keys, and at least
:data:`~sendgrid_elt.settings.SNAPSHOT_HOLD_MIN_KEYS` of them, is *held*: nothing of that unit
is marked deleted, one ``snapshot_holds`` row remembers it, and the stream's outcome names it
(a health problem of kind ``held_deletions``: the tenant is ``degraded``, one alert). Then:

* the next complete read of the unit, in another run, that misses them again applies the
  deletion (the second read agrees: no glitch) and clears the hold;
* a read in which they are back (below the threshold) deletes what it misses, as any read
  does, and clears the hold;
* a retry of the same run holds again: minutes later, the same incident is no second opinion.

A subuser no longer listed (the ``subusers`` stream marked it deleted) loses its rows at once:
its deletion is the answer, not a glitch. Unless no subuser is listed any more: a list answered
``[]`` by an incident is no proof, so its units are held as any other.

A unit whose read left some parent ids unread (refused: :mod:`sendgrid_elt.unit_reads`) is
still complete for its other ids: only the rows of the ids not read (``kept``, by the column
holding a row's parent id) are left alone, a deleted id's rows are marked deleted.

Units below the threshold are deleted at once. :func:`finish` runs inside the caller's
transaction (the deletions and the holds commit together). Its cost: one grouped count of the
unseen keys per stream with the ``UPDATE``'s own filter, in place of it (the ``UPDATE`` runs
only when a unit has keys to delete), and one grouped count of current keys when a unit
misses at least :data:`~sendgrid_elt.settings.SNAPSHOT_HOLD_MIN_KEYS`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sendgrid_elt.rejects import rejected_in_run
from sendgrid_elt.settings import SNAPSHOT_HOLD_MIN_KEYS, SNAPSHOT_HOLD_SHARE, STAGING_SCHEMA

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

_HOLDS = f'"{STAGING_SCHEMA}".snapshot_holds'
#: A current row of the table ``t`` that this complete read did not see (nor rejected).
_UNSEEN = f"t.last_seen_at < %(seen)s and not {rejected_in_run('t')}"
#: The columns that may hold a row's parent id (``kept``; never taken from input).
_PARENT_COLUMNS = ("parent_key", "record_key")


@dataclass(frozen=True)
class Held:
    """One unit's deletion held this run: ``missing`` of its ``current`` keys."""

    unit: str
    missing: int
    current: int

    def text(self) -> str:
        """The hold in words (a stream's ``detail``, a health problem, a log line)."""
        who = f"subuser {self.unit}" if self.unit else "the parent account"
        return (f"deletion of {self.missing} of {self.current} keys held for {who} until the "
                "next complete read agrees")  # fmt: skip


def too_many(missing: int, current: int) -> bool:
    """Whether marking ``missing`` of a unit's ``current`` keys deleted is held (see above)."""
    return missing >= SNAPSHOT_HOLD_MIN_KEYS and missing > current * SNAPSHOT_HOLD_SHARE


def finish(
    conn: psycopg.Connection,
    table: str,
    params: dict[str, Any],
    excluded: Iterable[str],
    listed: Collection[str] = (),
    kept: Collection[tuple[str, str]] = (),
    column: str | None = None,
) -> tuple[int, list[Held]]:
    """Mark deleted the unseen current keys of a complete snapshot, holding mass deletions.

    Args:
        conn: The loader's connection, inside the snapshot end's transaction.
        table: The stream's qualified table.
        params: ``t`` (tenant), ``seen`` (the stream's seen time), ``run``, ``stream``.
        excluded: Units not (fully) read: their rows and holds are left alone.
        listed: The tenant's current subusers: a subuser unit not among them is gone, never
            held (unless none is listed, see above).
        kept: ``(unit, parent id)`` of ids not read: their rows are left alone.
        column: The table's column holding a row's parent id (``parent_key``,
            ``record_key``), required with ``kept``.

    Returns:
        Keys newly marked deleted, and the units held this run.
    """
    unseen = _UNSEEN
    if kept:
        if column not in _PARENT_COLUMNS:
            raise ValueError(f"kept parent ids need their column, one of {_PARENT_COLUMNS}")
        unseen += (" and not exists (select 1 from unnest(%(kept_units)s::text[], "  # noqa: S608
                   "%(kept_ids)s::text[]) as k (unit, pid) where k.unit = t.subuser "
                   f"and k.pid = t.{column})")  # fmt: skip
    params = {**params, "kept_units": [u for u, _ in kept], "kept_ids": [p for _, p in kept]}
    rows = conn.execute(  # the UPDATE's own filter: as cheap when nothing is to delete
        "select coalesce(g.subuser, h.subuser), coalesce(g.missing, 0), h.run_id from "  # noqa: S608
        f"(select t.subuser, count(*) as missing from {table} t where t.tenant_id = %(t)s "
        "and t.is_current and t.deleted_at is null and not (t.subuser = any(%(skip)s)) "
        f"and {unseen} group by t.subuser) g full join (select subuser, run_id from {_HOLDS} "
        "where tenant_id = %(t)s and stream = %(stream)s and not (subuser = any(%(skip)s))) h "
        "on h.subuser = g.subuser",
        {**params, "skip": list(excluded)},
    ).fetchall()
    maybe = [u for u, n, _ in rows if too_many(n, n)]  # missing enough to be held at all
    current = _current_keys(conn, table, params, maybe)
    delete, clear, held = [], [], []
    for unit, missing, held_by in rows:
        of = current.get(unit, missing)
        gone = bool(listed) and unit != "" and unit not in listed
        if too_many(missing, of) and held_by in (None, params["run"]) and not gone:
            held.append(Held(unit, missing, of))
            continue
        if missing:
            delete.append(unit)
        if held_by is not None:
            clear.append(unit)
            agrees = "the second complete read agrees" if missing else "the keys are back"
            log.info("tenant %s: stream %s: hold of %s cleared (%s): %d of %d keys marked "
                     "deleted", params["t"], params["stream"], unit or "parent", agrees,
                     missing, of)  # fmt: skip
    deleted = 0
    if delete:
        deleted = conn.execute(
            f"update {table} t set deleted_at = now(), run_id = %(run)s "  # noqa: S608
            "where t.tenant_id = %(t)s and t.subuser = any(%(units)s) and t.is_current "
            f"and t.deleted_at is null and {unseen}",
            {**params, "units": delete},
        ).rowcount
    if clear:
        conn.execute(
            f"delete from {_HOLDS} where tenant_id = %(t)s and stream = %(stream)s "  # noqa: S608
            "and subuser = any(%(units)s)",
            {**params, "units": clear},
        )
    for hold in held:
        _save(conn, params, hold)
    return deleted, held


def _current_keys(
    conn: psycopg.Connection, table: str, params: dict[str, Any], units: list[str]
) -> dict[str, int]:
    """Current keys of ``units`` (those missing enough keys to be held): one grouped count."""
    if not units:
        return {}
    rows = conn.execute(
        f"select t.subuser, count(*) from {table} t where t.tenant_id = %(t)s "  # noqa: S608
        "and t.subuser = any(%(units)s) and t.is_current and t.deleted_at is null "
        "group by t.subuser",
        {**params, "units": units},
    ).fetchall()
    return dict(rows)


def _save(conn: psycopg.Connection, params: dict[str, Any], hold: Held) -> None:
    """Remember ``hold`` (a retry of the same run keeps its first ``held_at``)."""
    conn.execute(
        f"insert into {_HOLDS} as h (tenant_id, stream, subuser, held_keys, current_keys, "  # noqa: S608
        "run_id, held_at) values (%(t)s, %(stream)s, %(u)s, %(n)s, %(c)s, %(run)s, now()) "
        "on conflict (tenant_id, stream, subuser) do update set held_keys = excluded.held_keys, "
        "current_keys = excluded.current_keys",
        {**params, "u": hold.unit, "n": hold.missing, "c": hold.current},
    )
    log.warning("tenant %s: stream %s: unit %s: %s", params["t"], params["stream"],
                hold.unit or "parent", hold.text())  # fmt: skip
