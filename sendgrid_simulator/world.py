"""The simulator's state: tenants, credentials, clock and the mutations time brings."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import hashing, scopes
from .catalog import Catalog
from .stats import StatsModel
from .suppressions import LISTS, SuppressionList
from .tenants import FIRST_NAMES, LAST_NAMES, Account, Tenant, build_tenants


@dataclass
class Credential:
    """A bearer credential: an API key or an OAuth access token.

    Attributes:
        token: The bearer string.
        tenant_id: Tenant it authorizes.
        kind: ``api_key`` or ``oauth``.
        scopes: Granted scopes.
        bucket: Rate-limit identity (the key id, or the OAuth client for tokens).
        expires_at: Wall-clock expiry (``time.time()``), ``None`` for API keys.
        grant_id: OAuth grant (refresh-token family) the token belongs to.
    """

    token: str
    tenant_id: str
    kind: str
    scopes: set[str]
    bucket: str
    expires_at: float | None = None
    grant_id: str | None = None


@dataclass
class Changes:
    """Mutations applied after the start (by ``advance`` and the control API)."""

    added_teammates: dict[str, list[dict]] = field(default_factory=dict)
    deleted_teammates: dict[str, set[str]] = field(default_factory=dict)
    deleted_keys: dict[str, set[str]] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)


def default_clock() -> dt.date:
    """Today's UTC date (the clock when none is given)."""
    return dt.datetime.now(dt.UTC).date()


class World:
    """Everything the API serves, for one ``(seed, scale, start clock)``.

    Args:
        seed: Dataset seed.
        scale: ``tiny``, ``demo`` or ``large``.
        clock: Start date of the simulated clock (the anchor of all generated history).
    """

    def __init__(self, seed: int = 42, scale: str = "tiny", clock: dt.date | None = None):
        self.seed = seed
        self.scale = scale
        self.anchor = clock or default_clock()
        self.clock = self.anchor
        self.lock = threading.RLock()
        self.tenants: list[Tenant] = build_tenants(seed, scale, self.anchor)
        self.by_id: dict[str, Tenant] = {t.tenant_id: t for t in self.tenants}
        self.accounts: dict[str, tuple[Tenant, Account]] = {}
        for t in self.tenants:
            for a in (t.parent, *t.subusers):
                self.accounts[a.username] = (t, a)
        self.stats = StatsModel(seed, [t.parent.username for t in self.tenants
                                       if t.plan.name == "free"])  # fmt: skip
        self.catalog = Catalog(seed, self.anchor)
        self.changes = Changes()
        self._suppressions: dict[tuple[str, str], SuppressionList] = {}
        self._pending_rows: list[list] = []  # [requests left, (tenant, subuser, stream), delete]
        self.credentials: dict[str, Credential] = {}
        for t in self.tenants:
            full = scopes.full_scopes(t.features)
            read_only = set(scopes.restricted_scopes(t.features, t.restricted_missing))
            self.credentials[t.full_key] = Credential(
                t.full_key, t.tenant_id, "api_key", set(full), t.full_key.split(".")[1]
            )
            self.credentials[t.restricted_key] = Credential(
                t.restricted_key, t.tenant_id, "api_key", read_only,
                t.restricted_key.split(".")[1])  # fmt: skip

    # ----- time ---------------------------------------------------------------------------
    @property
    def now(self) -> dt.datetime:
        """The simulator's "now", an instant: the clock date at 00:00 UTC.

        Every data decision is taken at this instant (invitations valid or expired, the
        suppressions visible, the single sends of the last 90 days, the truth); stats and
        credits cover the days before it: the clock date has just begun and has sent nothing
        yet (SendGrid reports the day in progress, empty at 00:00). A pipeline run whose data
        interval ends at this instant sees what the truth describes.
        """
        return dt.datetime.combine(self.clock, dt.time(), dt.UTC)

    def now_epoch(self) -> int:
        """:attr:`now` as Unix time (seconds)."""
        return int(self.now.timestamp())

    def http_now(self) -> float:
        """Simulated wall time for the ``Date`` header: clock date + real time of day."""
        real = time.time()
        return self.now_epoch() + real % 86400

    def advance(self, days: int = 1) -> list[dict]:
        """Move the clock forward; each new day adds a teammate and deletes one record.

        New suppression rows and stats days appear by themselves (they are functions of
        the clock). Per day and tenant: a teammate joins (if the plan has seats) and the
        oldest remaining secondary API key is deleted (or, if none, the newest teammate).

        Returns:
            The change-log entries of this call.
        """
        if days < 0:
            raise ValueError("the clock only moves forward")
        entries = []
        with self.lock:
            for _ in range(days):
                self.clock += dt.timedelta(days=1)
                for t in self.tenants:
                    entries.extend(self._daily_changes(t))
            self.changes.log.extend(entries)
        return entries

    def _daily_changes(self, t: Tenant) -> list[dict]:
        out = []
        day = self.clock.isoformat()
        if len(self.teammates(t)) - 1 < t.plan.teammates_max:
            h = hashing.h64(self.seed, t.tenant_id, "join", day)
            first, last = FIRST_NAMES[h % 26], LAST_NAMES[(h >> 8) % 26]
            username = f"{first}{last[0]}{self.clock:%Y%m%d}"
            row = self.catalog.teammate(t, username, first.title(), last.title(), None,
                                        "teammate", 50 + len(self.changes.log))  # fmt: skip
            self.changes.added_teammates.setdefault(t.tenant_id, []).append(row)
            out.append({"date": day, "tenant_id": t.tenant_id, "added": "teammate",
                        "id": username})  # fmt: skip
        protected = {t.full_key.split(".")[1], t.restricted_key.split(".")[1]}
        keys = [k for k in self.api_keys(t, t.parent) if k["api_key_id"] not in protected]
        if keys:
            key_id = keys[0]["api_key_id"]
            self.changes.deleted_keys.setdefault(t.parent.username, set()).add(key_id)
            out.append({"date": day, "tenant_id": t.tenant_id, "deleted": "api_key", "id": key_id})
        else:
            mates = [m for m in self.teammates(t) if m["user_type"] != "owner"]
            if mates:
                name = mates[-1]["username"]
                self.changes.deleted_teammates.setdefault(t.tenant_id, set()).add(name)
                out.append({"date": day, "tenant_id": t.tenant_id, "deleted": "teammate",
                            "id": name})  # fmt: skip
        return out

    # ----- collections with mutations applied -----------------------------------------------
    def teammates(self, t: Tenant) -> list[dict]:
        """Current teammates of tenant ``t`` (owner first)."""
        gone = self.changes.deleted_teammates.get(t.tenant_id, set())
        rows = self.catalog.get(t, t.parent, "teammates") + self.changes.added_teammates.get(
            t.tenant_id, []
        )
        return [r for r in rows if r["username"] not in gone]

    def api_keys(self, t: Tenant, account: Account) -> list[dict]:
        """Current API keys of ``account`` (deleted and revoked keys removed)."""
        gone = self.changes.deleted_keys.get(account.username, set())
        return [k for k in self.catalog.get(t, account, "api_keys") if k["api_key_id"] not in gone]

    def suppression(self, account: Account, kind: str) -> SuppressionList:
        """The lazily generated suppression list ``kind`` of ``account``."""
        key = (account.username, kind)
        lst = self._suppressions.get(key)
        if lst is None:
            t, _ = self.accounts[account.username]
            mean = t.profile.suppressions_per_day[kind]
            if account.is_subuser:
                mean *= account.daily_requests / max(1, t.parent.daily_requests)
            lst = SuppressionList(self.seed, account, kind, mean)
            with self.lock:
                self._suppressions.setdefault(key, lst)
            lst = self._suppressions[key]
        return lst

    # ----- rows deleted through the control API ----------------------------------------------
    def delete_row(
        self, tenant_id: str, stream: str, index: int, after_requests: int = 0, subuser: str = ""
    ) -> Any:
        """Delete row ``index`` of an offset-paged list, now or after ``after_requests`` requests.

        ``stream`` is ``teammates``, ``subusers``, ``api_keys`` (of ``subuser`` when given) or a
        suppression list (:data:`LISTS`). The row goes once that list (for that account) has
        answered ``after_requests`` more requests: a deletion in the middle of a read. The rows
        after it move up one place, as offsets see them on the real API; the truth follows.
        A deleted API key still authenticates (:meth:`revoke_key` revokes one), a deleted
        subuser is refused as ``on-behalf-of`` like an unknown one.

        Returns:
            The deleted row's primary-key value (an e-mail address for a suppression list).

        Raises:
            KeyError: Unknown tenant or subuser.
            ValueError: Unknown stream, or no row ``index``.
        """
        t = self.by_id[tenant_id]
        account = next(s for s in t.subusers if s.username == subuser) if subuser else t.parent
        if stream in LISTS:
            return self.suppression(account, stream).delete(index, after_requests)
        if stream == "teammates":
            rows, field = self.teammates(t), "username"
            gone = self.changes.deleted_teammates.setdefault(t.tenant_id, set())
        elif stream == "api_keys":
            rows, field = self.api_keys(t, account), "api_key_id"
            gone = self.changes.deleted_keys.setdefault(account.username, set())
        elif stream == "subusers":
            rows, field = [{"id": s.user_id} for s in t.subusers], "id"
            gone = None
        else:
            raise ValueError(f"rows of {stream!r} cannot be deleted")
        if not 0 <= index < len(rows):
            raise ValueError(f"{stream} of {tenant_id} has no row {index} ({len(rows)} rows)")
        key = rows[index][field]

        def delete() -> None:
            if gone is not None:
                gone.add(key)
            else:  # a new list: a request serving the old one is not disturbed
                t.subusers = [s for s in t.subusers if s.user_id != key]

        with self.lock:
            if after_requests <= 0:
                delete()
            else:
                self._pending_rows.append([after_requests, (tenant_id, subuser, stream), delete])
        return key

    def served(self, tenant_id: str, subuser: str, stream: str) -> None:
        """Count one answered request of a list; apply the deletions that were waiting for it."""
        if not self._pending_rows:
            return
        with self.lock:
            for entry in list(self._pending_rows):
                if entry[1] == (tenant_id, subuser, stream):
                    entry[0] -= 1
                    if entry[0] <= 0:
                        self._pending_rows.remove(entry)
                        entry[2]()

    # ----- credentials ----------------------------------------------------------------------
    def authenticate(self, token: str) -> Credential | None:
        """Return the live credential for ``token`` (``None`` if unknown, revoked, expired)."""
        cred = self.credentials.get(token)
        if cred is None:
            return None
        if cred.expires_at is not None and cred.expires_at <= time.time():
            return None
        return cred

    def revoke_key(self, key: str) -> bool:
        """Revoke (delete) an API key; it disappears from ``/v3/api_keys`` too."""
        with self.lock:
            cred = self.credentials.pop(key, None)
            if cred is None:
                return False
            if cred.kind == "api_key":
                t = self.by_id[cred.tenant_id]
                self.changes.deleted_keys.setdefault(t.parent.username, set()).add(cred.bucket)
            return True

    def drop_scopes(self, key: str, dropped: list[str]) -> list[str]:
        """Remove ``dropped`` scopes from a credential; return its remaining scopes."""
        with self.lock:
            cred = self.credentials[key]
            cred.scopes -= set(dropped)
            return sorted(cred.scopes)

    def all_suppression_kinds(self) -> tuple[str, ...]:
        """The five list names."""
        return LISTS
