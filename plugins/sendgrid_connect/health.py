"""Health of each tenant for the page, read from and written to ``connection_health``.

The table, its statuses and the alert decisions belong to :mod:`sendgrid_elt.connection_health`;
this module only adapts them: it reads all rows at once for the list, and after a successful
Connect / Reconnect / API-key change it runs the same scope check the extract DAG runs
(:func:`~sendgrid_elt.connection_health.check_connection`), which records ``connected`` or
``degraded`` (clearing ``needs_reconnect``) and sends the due "reconnected" notice.
When the warehouse is not configured or cannot be read the page still works and shows
"Health unknown" (never "Never connected", which would hide a tenant needing a reconnect).

A connection that reaches a SendGrid account already connected under another id, or a subuser
of another connected tenant, names that tenant once the transform has found it, and a credential
just saved for an account the reports already know says so in its flash (a warning: the account
is counted once); :mod:`sendgrid_connect.accounts` reads dbt's findings.

A credential that works but lacks scopes is never shown as plain "Connected": the page says
"Connected, N features unreadable" (``degraded``), lists each missing scope with the streams it
disables (from the stream catalog), and its flash message is a warning, not a success.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sendgrid_hook.constants import INTERACTIVE_TIME_BUDGET_SECONDS
from sendgrid_hook.display import plural

from sendgrid_connect import accounts

log = logging.getLogger(__name__)

LABELS = {
    "connected": "Connected",
    "degraded": "Degraded",
    "needs_reconnect": "Needs reconnect",
    "never_connected": "Never connected",
    "unknown": "Health unknown",
}


@dataclass(frozen=True)
class Health:
    """What the page shows about one tenant's health."""

    status: str = "never_connected"
    since: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    reason: str | None = None
    last_error: str | None = None  # why it stopped working, for people (scrubbed when stored)
    missing_scopes: tuple[str, ...] = ()
    streams_missing_scopes: dict[str, list[str]] = field(default_factory=dict)
    stream_problems: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicate_of: str | None = None  # the connection made first to the same SendGrid account
    subuser_of: str | None = None  # the connected tenant that lists this account as a subuser
    account: str | None = None  # "account 'acme', user id 42": what the credential reached

    @property
    def unreadable(self) -> dict[str, list[str]]:
        """Missing scope -> the streams it leaves unreadable (empty unless degraded).

        The catalog's streams of each missing scope, plus any stream the last run recorded as
        skipped for it.
        """
        if self.status != "degraded":
            return {}
        by_scope = disabled_by(self.missing_scopes)
        for stream, scopes in self.streams_missing_scopes.items():
            for scope in scopes:
                by_scope.setdefault(scope, [])
                if stream not in by_scope[scope]:
                    by_scope[scope] = sorted([*by_scope[scope], stream])
        return dict(sorted(by_scope.items()))

    @property
    def label(self) -> str:
        """Human label of the status.

        ``Connected, 3 features unreadable`` when scopes are missing; streams that failed,
        skipped refused subusers, had ids refused or rejected records in the last run are
        named after it.
        """
        if self.status != "degraded":
            return LABELS.get(self.status, self.status)
        from sendgrid_elt.connection_health import HELD, REFUSED, RUN_PROBLEM, SKIPPED

        why = []
        streams = {n: p for n, p in self.stream_problems.items() if n != RUN_PROBLEM}
        failed = sorted(n for n, p in streams.items() if p.get("kind") == "failed")
        skipped = sorted(n for n, p in streams.items() if p.get("kind") == SKIPPED)
        refused = sorted(n for n, p in streams.items() if p.get("kind") == REFUSED)
        held = sorted(n for n, p in streams.items() if p.get("kind") == HELD)
        rejected = sorted(n for n, p in streams.items()
                          if p.get("kind") not in ("failed", SKIPPED, REFUSED, HELD))  # fmt: skip
        if RUN_PROBLEM in self.stream_problems:
            why.append("the last run failed before its streams")
        if failed:
            why.append(f"streams failed: {', '.join(failed)}")
        if skipped:
            why.append(f"subusers refused in {', '.join(skipped)}")
        if refused:
            why.append(f"ids refused (rows kept) in {', '.join(refused)}")
        if held:
            why.append(f"deletions held in {', '.join(held)} until the next run agrees")
        if rejected:
            why.append(f"records rejected in {', '.join(rejected)}")
        head = unreadable_label(self.unreadable) if self.unreadable else LABELS["degraded"]
        return f"{head}; {'; '.join(why)}" if why else head


def unreadable_label(unreadable: dict[str, list[str]]) -> str:
    """``Connected, N features unreadable`` (N: distinct streams the missing scopes disable).

    Args:
        unreadable: Missing scope -> the streams it disables (see :func:`disabled_by`).

    Returns:
        The label; a scope that gates no known stream still counts as one feature.
    """
    streams = {stream for listed in unreadable.values() for stream in listed}
    count = len(streams) + sum(1 for listed in unreadable.values() if not listed)
    return f"Connected, {count} {plural('feature', count)} unreadable"


def connected_flash(conn_id: str, how: str, check: Check) -> tuple[str, str, dict[str, list[str]]]:
    """The flash after a credential was saved: success, or a warning naming what is unreadable.

    Args:
        conn_id: The connection.
        how: Completes "Connected <conn_id>..." (``""`` or ``" with an API key"``).
        check: The scope check's outcome: the required scopes the credential lacks, the
            plan-feature ones (listed, not counted as unreadable) and any connection the
            reports know to count the same SendGrid account: one reaching it, or one listing
            it as a subuser (a warning: counted once).

    Returns:
        ``(kind, text, disabled)``: ``kind`` is ``ok`` or ``warn`` (also when the check
        itself failed); ``disabled`` maps each missing scope to the streams it disables.
    """
    if check.failed:
        return (
            "warn",
            (
                f"Saved the credential for {conn_id}{how}, but checking it failed "
                f"({check.failed}): see its status here, or press Test."
            ),
            {},
        )
    missing, optional = check.missing, check.optional
    disabled = disabled_by([*missing, *optional])
    same = ""
    if check.counted_by:
        account, first, as_subuser = check.counted_by
        same = (
            f" This credential reaches SendGrid {account.label()}, a subuser of {first}: the "
            f"reports count its sends and plan under {first}."
            if as_subuser
            else f" This credential reaches SendGrid {account.label()}, which {first} already "
            f"connects: the reports count that account once, under {first}."
        )
    if missing:
        count = unreadable_label({s: disabled[s] for s in missing}).removeprefix("Connected, ")
        text = (
            f"Connected {conn_id}{how}, {count}: the credential lacks {len(missing)} required "
            f"{plural('scope', len(missing))}; that data is skipped until you grant them.{same}"
        )
        return "warn", text, disabled
    note = (
        f" ({len(optional)} optional {plural('scope', len(optional))} not granted)"
        if optional
        else ""
    )
    return "warn" if same else "ok", f"Connected {conn_id}{how}{note}.{same}", disabled


def _engine() -> Any | None:
    """The warehouse's engine; ``None`` when no warehouse is configured.

    Raises:
        Exception: Its connection could not be read (the caller says so: health unknown, or
            a failed check), which is not "no warehouse configured".
    """
    from sendgrid_elt import connection_health
    from sendgrid_elt.warehouse import WarehouseNotConfigured

    try:
        return connection_health.health_engine()
    except WarehouseNotConfigured:
        return None


def read_all() -> dict[str, Health] | None:
    """Health rows by tenant id; ``None`` when the warehouse cannot be reached or read.

    Empty before the first check made the table. ``None`` is unknown, never shown as "never
    connected".
    """
    from sqlalchemy import inspect, select

    from sendgrid_elt.connection_health import connection_health
    from sendgrid_elt.settings import STAGING_SCHEMA

    try:
        engine = _engine()
    except Exception as exc:  # its connection unreadable: health is unknown
        log.info("connection health unavailable: %s", type(exc).__name__)
        return None
    if engine is None:
        return None
    try:
        found_table = inspect(engine)
        if not found_table.has_table("connection_health", schema=STAGING_SCHEMA):
            return {}
        # the columns the table has: a column a newer version adds (its migration runs with
        # the next DAG run or saved credential) must not make every tenant's health unknown
        have = {c["name"] for c in found_table.get_columns("connection_health", STAGING_SCHEMA)}
        columns = [c for c in connection_health.c if c.name in have]
        with engine.connect() as conn:
            rows = conn.execute(select(*columns)).mappings().all()
            found = accounts.findings(conn)  # last: a failure here only empties it
    except Exception as exc:
        log.warning("could not read connection health: %s", type(exc).__name__)
        return None
    finally:
        engine.dispose()
    return {r["tenant_id"]: _health(r, found.get(r["tenant_id"], _NOTHING_FOUND)) for r in rows}


_NOTHING_FOUND = accounts.Finding(None, None, None)


def _health(r: Any, found: accounts.Finding) -> Health:
    """One ``connection_health`` row, its account and the tenant that already counts it."""
    return Health(
        status=r["status"],
        since=r["status_since"],
        last_success_at=r["last_success_at"],
        reason=r["reason"],
        last_error=r["last_error"],
        missing_scopes=tuple(r["missing_scopes"] or ()),
        streams_missing_scopes=dict(r["streams_missing_scopes"] or {}),
        stream_problems=dict(r.get("stream_problems") or {}),
        duplicate_of=found.duplicate_of,
        subuser_of=found.subuser_of,
        account=found.account.label() if found.account else None,
    )


def disabled_by(missing: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """Missing scope -> the streams (data) it disables, from the stream catalog."""
    from sendgrid_elt.stream_scopes import scope_requirements

    disables = scope_requirements().disables
    return {scope: sorted(disables.get(scope, ())) for scope in sorted(missing)}


class Check(NamedTuple):
    """Outcome of :func:`record_check`."""

    recorded: bool
    note: str
    missing: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    #: The credential's account and the connection the reports already count it under.
    counted_by: accounts.CountedBy | None = None
    #: Why the check itself failed (an exception's type; the row's health says more).
    failed: str | None = None


def scope_gaps(granted: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Required and optional (plan-feature) scopes of the catalog that ``granted`` lacks."""
    from sendgrid_hook.scopes import missing_scopes

    from sendgrid_elt.stream_scopes import scope_requirements

    needs = scope_requirements()
    return missing_scopes(needs.required, granted), missing_scopes(needs.optional, granted)


def record_check(conn_id: str, *, counted_by: bool = True) -> Check:
    """Run the extract DAG's scope check for ``conn_id`` and record its outcome.

    Args:
        conn_id: The connection whose credential was just saved.
        counted_by: Also look up a connection the reports already count the credential's
            account under (one ``GET /v3/user/username``); off where no admin reads the answer.

    Returns:
        Whether health was recorded, a note for the log, and the scopes the credential lacks
        (known even without a warehouse); never raises (the credential is already saved).
    """
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    from sendgrid_elt import connection_health

    hook, engine = SendGridHook(conn_id), None
    try:
        engine = _engine()  # its connection unreadable: a failed check, not "no warehouse"
        hook.set_time_budget(INTERACTIVE_TIME_BUDGET_SECONDS)  # a person waits on the answer
        if engine is None:
            note = "no warehouse configured: health not recorded"
            return Check(False, note, *scope_gaps(hook.granted_scopes()))
        report = connection_health.check_connection(hook, engine=engine)
        gaps = scope_gaps(hook.granted_scopes())  # the answer the check read (cached)
        same = _counted_by(hook, engine, conn_id) if counted_by else None
    except Exception as exc:  # AirflowFailException after recording needs_reconnect, etc.
        failed = type(exc).__name__
        return Check(False, f"health check failed: {failed}", failed=failed)
    finally:
        hook.close()
        if engine is not None:
            engine.dispose()
    if report.degraded:
        n = len(report.skipped)
        lack = "lacks" if n == 1 else "lack"
        return Check(True, f"{n} {plural('stream', n)} {lack} scopes", *gaps, same)
    return Check(True, "all streams have their scopes", *gaps, same)


def _counted_by(hook: Any, engine: Any, conn_id: str) -> accounts.CountedBy | None:
    """The credential's account and the connection already counting it; never raises."""
    try:
        account = hook.account_identity()
        if account is None:
            return None
        with engine.connect() as conn:
            return accounts.counted_by(conn, conn_id, account)
    except Exception as exc:  # the credential is saved: the note is a courtesy
        log.info("could not look the account up: %s", type(exc).__name__)
        return None
