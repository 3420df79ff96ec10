"""Daily e-mail statistics: deterministic per (seed, account, day), zero-filled, aggregated.

Opens, clicks, unsubscribes and spam reports of the last three days before the clock are
"immature": they grow as the clock advances, as late events arrive in the real product.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from . import hashing
from .tenants import Account

METRICS: tuple[str, ...] = (
    "blocks",
    "bounce_drops",
    "bounces",
    "clicks",
    "deferred",
    "delivered",
    "invalid_emails",
    "opens",
    "processed",
    "requests",
    "spam_report_drops",
    "spam_reports",
    "unique_clicks",
    "unique_opens",
    "unsubscribe_drops",
    "unsubscribes",
)
#: Share of late engagement already counted for a day that is 0, 1 or 2 days old.
MATURITY: dict[int, float] = {1: 0.5, 2: 0.8, 3: 0.95}  # by age in days (1: yesterday)
_WEEKDAY = (1.0, 1.05, 1.0, 0.98, 0.9, 0.45, 0.35)
ZERO = dict.fromkeys(METRICS, 0)


class StatsModel:
    """Computes metrics for any account and day without storing history."""

    def __init__(self, seed: int, free_accounts: Iterable[str] = ()) -> None:
        """Create the model.

        Args:
            seed: Dataset seed.
            free_accounts: Usernames on the free plan (they have many zero days).
        """
        self.seed = seed
        self.free = frozenset(free_accounts)
        self._cache: dict[tuple[str, str, int], tuple[int, ...]] = {}

    def requests(self, account: Account, day: dt.date, salt: str = "", share: float = 1.0) -> int:
        """Emails requested by ``account`` on ``day`` (0 outside its sending life)."""
        if day < account.created or (account.stopped_sending and day >= account.stopped_sending):
            return 0
        u = hashing.unit(self.seed, account.username, "req", salt, day.toordinal())
        zero_rate = 0.35 if account.username in self.free else 0.02
        if hashing.unit(self.seed, account.username, "zero", day.toordinal()) < zero_rate:
            return 0
        age_years = (day - account.created).days / 365.0
        base = account.daily_requests * share * _WEEKDAY[day.weekday()] * (0.8 + 0.15 * age_years)
        return int(base * (0.7 + 0.6 * u))

    def day(
        self, account: Account, day: dt.date, clock: dt.date, salt: str = "", share: float = 1.0
    ) -> dict[str, int]:
        """Return the 16 metrics of one day as seen at ``clock`` (zeros from the clock on).

        The clock is the instant its date begins: that day has sent nothing yet.
        """
        if day >= clock:
            return dict(ZERO)
        key = (account.username, salt, day.toordinal())
        base = self._cache.get(key)
        if base is None:
            base = self._mature(account, day, salt, share)
            if len(self._cache) > 500_000:
                self._cache.clear()
            self._cache[key] = base
        maturity = MATURITY.get((clock - day).days, 1.0)
        values = dict(zip(METRICS, base, strict=True))
        if maturity < 1.0:
            for name in ("clicks", "opens", "unique_clicks", "unique_opens", "spam_reports",
                         "unsubscribes"):  # fmt: skip
                values[name] = int(values[name] * maturity)
        return values

    def _mature(self, account: Account, day: dt.date, salt: str, share: float) -> tuple[int, ...]:
        req = self.requests(account, day, salt, share)
        if req == 0:
            return tuple(0 for _ in METRICS)
        h = hashing.h64(self.seed, account.username, "mix", salt, day.toordinal())

        def frac(lo: float, hi: float, shift: int) -> float:
            return lo + (hi - lo) * (((h >> shift) & 0xFF) / 255.0)

        bounce_drops = int(req * frac(0.001, 0.004, 0))
        spam_report_drops = int(req * frac(0.0002, 0.001, 8))
        unsubscribe_drops = int(req * frac(0.0005, 0.002, 16))
        invalid = int(req * frac(0.0005, 0.002, 24))
        processed = req - bounce_drops - spam_report_drops - unsubscribe_drops - invalid
        bounces = int(processed * frac(0.004, 0.015, 32))
        blocks = int(processed * frac(0.002, 0.008, 40))
        deferred = int(processed * frac(0.01, 0.05, 48))
        delivered = processed - bounces - blocks
        unique_opens = int(delivered * frac(0.15, 0.3, 56))
        opens = int(unique_opens * frac(1.3, 1.9, 4))
        unique_clicks = int(delivered * frac(0.015, 0.045, 12))
        clicks = int(unique_clicks * frac(1.2, 1.6, 20))
        unsubscribes = int(delivered * frac(0.0005, 0.0015, 28))
        spam_reports = int(delivered * frac(0.0001, 0.0004, 36))
        return (blocks, bounce_drops, bounces, clicks, deferred, delivered, invalid, opens,
                processed, req, spam_report_drops, spam_reports, unique_clicks, unique_opens,
                unsubscribe_drops, unsubscribes)  # fmt: skip

    def series(
        self,
        account: Account,
        start: dt.date,
        end: dt.date,
        clock: dt.date,
        aggregated_by: str = "day",
        salt: str = "",
        share: float = 1.0,
    ) -> list[tuple[dt.date, dict[str, int]]]:
        """Return ``(bucket_date, metrics)`` rows from ``start`` to ``end`` inclusive.

        Buckets: ``day``; ``week`` (ISO weeks, Monday start); ``month``. A bucket is labelled
        with its first day inside the requested range, and days are zero-filled.
        """
        rows: list[tuple[dt.date, dict[str, int]]] = []
        day = start
        one = dt.timedelta(days=1)
        while day <= end:
            metrics = self.day(account, day, clock, salt, share)
            label = bucket_label(day, start, aggregated_by)
            if rows and rows[-1][0] == label:
                acc = rows[-1][1]
                for k, v in metrics.items():
                    acc[k] += v
            else:
                rows.append((label, metrics))
            day += one
        return rows


def bucket_label(day: dt.date, start: dt.date, aggregated_by: str) -> dt.date:
    """Return the label of the bucket holding ``day`` (never before ``start``)."""
    if aggregated_by == "week":
        label = day - dt.timedelta(days=day.weekday())
    elif aggregated_by == "month":
        label = day.replace(day=1)
    else:
        return day
    return max(label, start)
