"""The base of the simulator's per-account collections: caching, sizes and seeded draws.

Also the timestamp formats the collections' bodies use (:func:`epoch`, :func:`iso`,
:func:`sql_ts`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import hashing, plans
from .tenants import Account, Tenant

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SUBUSER_SIZES = {
    "categories": 3, "legacy_templates": 0, "dynamic_templates": 1, "singlesends": 1,
    "automations": 0, "lists": 1, "segments": 1, "contacts": 300, "domains": 1, "links": 0,
    "webhooks": 0, "parse": 0, "validation_jobs": 0, "alerts": 1, "asm_groups": 1,
    "decoy_keys": 1,
}  # fmt: skip


def epoch(day: dt.date, seconds: int = 0) -> int:
    """Unix time of ``day`` midnight UTC plus ``seconds``."""
    return (day - _EPOCH.date()).days * 86400 + seconds


def iso(day: dt.date, seconds: int = 0) -> str:
    """ISO 8601 UTC timestamp (``Z``) of ``day`` plus ``seconds``."""
    t = _EPOCH + dt.timedelta(seconds=epoch(day, seconds))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sql_ts(day: dt.date, seconds: int = 0) -> str:
    """``YYYY-MM-DD HH:MM:SS`` timestamp (the templates format)."""
    t = _EPOCH + dt.timedelta(seconds=epoch(day, seconds))
    return t.strftime("%Y-%m-%d %H:%M:%S")


class CatalogBase:
    """Caches the collections of every account of one world; subclasses add the builders.

    A collection ``name`` is built by the method ``_build_<name>(tenant, account)``.

    Args:
        seed: Dataset seed.
        anchor: Start clock (collection dates are relative to it).
    """

    def __init__(self, seed: int, anchor: dt.date) -> None:
        self.seed = seed
        self.anchor = anchor
        self._cache: dict[tuple[str, str], Any] = {}

    def get(self, tenant: Tenant, account: Account, name: str) -> Any:
        """Return collection ``name`` of ``account`` (built once, then cached)."""
        key = (account.username, name)
        if key not in self._cache:
            self._cache[key] = getattr(self, f"_build_{name}")(tenant, account)
        return self._cache[key]

    def size(self, tenant: Tenant, account: Account, name: str) -> int:
        """Configured count of collection ``name`` for ``account``."""
        sizes = _SUBUSER_SIZES if account.is_subuser else tenant.profile.sizes
        count = sizes.get(name, 0)
        if name in ("singlesends", "automations", "lists", "segments", "contacts") and (
            plans.MARKETING not in tenant.features
        ):
            return 0
        return count

    def _r(self, account: Account, name: str):
        return hashing.rng(self.seed, account.username, name)

    def _day(self, account: Account, name: str, i: int, max_age: int) -> dt.date:
        age = hashing.h64(self.seed, account.username, name, i) % max(1, max_age)
        return max(account.created, self.anchor - dt.timedelta(days=int(age)))

    def _secs(self, account: Account, name: str, i: int) -> int:
        return int(hashing.h64(self.seed, account.username, name, "s", i) % 86400)
