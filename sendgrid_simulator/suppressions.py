"""The five suppression lists, generated lazily: any page is computed from its offset.

Rows are ordered by ``created`` ascending (oldest first). Each day of an account's life has
a deterministic number of rows; row ``j`` of a day with ``n`` rows was created at
``midnight + j * 86400 // n``. Only the per-day counts (one integer per day) are kept.

A row can be deleted (a customer removing a suppression), now or after the list has answered
a number of requests (:meth:`SuppressionList.delete`): the rows after it move up one place,
as offsets see them on the real API.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import threading

from . import hashing
from .tenants import FIRST_NAMES, LAST_NAMES, Account

_K = 0x9E3779B1  # Knuth's multiplicative hash constant
_M = 0xFFFFFFFF
LISTS: tuple[str, ...] = ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")
_EPOCH = dt.date(1970, 1, 1)
_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net",
            "post.example.org", "corp.example.com")  # fmt: skip
_BOUNCE_REASONS = (
    ("550 5.1.1 The email account that you tried to reach does not exist", "5.1.1"),
    ("550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table", "5.1.1"),
    ("552 5.2.2 The email account that you tried to reach is over quota", "5.2.2"),
    ("550 5.7.1 Message rejected due to local policy", "5.7.1"),
    ("554 5.7.1 Service unavailable; client host blocked using a blocklist", "5.7.1"),
    ("550 5.4.1 Recipient address rejected: Access denied", "5.4.1"),
)
_BLOCK_REASONS = (
    ("421 4.7.0 Try again later, closing connection", "4.7.0"),
    ("550 5.7.1 Message rejected as spam by content filtering", "5.7.1"),
    ("554 5.7.1 Sender IP has a poor reputation", "5.7.1"),
    ("451 4.7.1 Greylisted, please try again later", "4.7.1"),
)
_INVALID_REASONS = (
    "Mail domain mentioned in email address is unknown",
    "Known bad domain",
    "Invalid address syntax",
)


def _tails(kind: str, ips: list[str]) -> list[str]:
    """Pre-encoded JSON endings of a row (everything after the e-mail address)."""
    if kind == "bounces":
        return [f'","reason":{json.dumps(r)},"status":"{s}"}}' for r, s in _BOUNCE_REASONS]
    if kind == "blocks":
        return [f'","reason":{json.dumps(r)},"status":"{s}"}}' for r, s in _BLOCK_REASONS]
    if kind == "spam_reports":
        return [f'","ip":"{ip}"}}' for ip in ips]
    if kind == "invalid_emails":
        return [f'","reason":{json.dumps(r)}}}' for r in _INVALID_REASONS]
    return ['"}']


def _epoch(day: dt.date) -> int:
    return (day - _EPOCH).days * 86400


class SuppressionList:
    """One account's suppression list of one kind.

    Args:
        seed: Dataset seed.
        account: Owner account.
        kind: One of :data:`LISTS`.
        per_day: Mean rows added per day.
    """

    def __init__(self, seed: int, account: Account, kind: str, per_day: float) -> None:
        self.seed = seed
        self.account = account
        self.kind = kind
        self.per_day = per_day
        self.first_day = account.created
        self._counts: list[int] = []
        self._prefix: list[int] = [0]  # prefix[k] = rows before day k
        self._salt = hashing.h64(seed, account.username, kind) & _M
        r = hashing.rng(seed, account.username, kind, "tables")
        self._names = [f"{r.choice(FIRST_NAMES)}.{r.choice(LAST_NAMES)}" for _ in range(256)]
        self._domains = [r.choice(_DOMAINS) for _ in range(64)]
        self._tails = _tails(kind, [f"203.0.113.{r.randint(1, 254)}" for _ in range(32)])
        self.deleted: set[int] = set()
        self._pending: list[list[int]] = []  # [requests left, row index]
        self._lock = threading.Lock()

    def delete(self, index: int, after_requests: int = 0) -> str:
        """Delete row ``index`` now, or once the list has answered ``after_requests`` requests.

        Returns:
            The deleted row's e-mail address.
        """
        with self._lock:
            if after_requests <= 0:
                self.deleted.add(index)
            else:
                self._pending.append([after_requests, index])
        return self.email(index)

    def restore(self, index: int) -> str:
        """List row ``index`` again (a row SendGrid lists late: deleted first, then restored).

        Returns:
            The row's e-mail address.
        """
        with self._lock:
            self.deleted.discard(index)
        return self.email(index)

    def served(self) -> None:
        """Count one answered request; apply the deletions that were waiting for it."""
        if not self._pending:
            return
        with self._lock:
            for entry in list(self._pending):
                entry[0] -= 1
                if entry[0] <= 0:
                    self._pending.remove(entry)
                    self.deleted.add(entry[1])

    def live_indices(self, clock: dt.date) -> list[int]:
        """Indices of the rows visible at ``clock`` that are not deleted."""
        return [i for i in range(self._prefix[self._ensure(clock)]) if i not in self.deleted]

    def _count(self, k: int) -> int:
        day = self.first_day + dt.timedelta(days=k)
        if self.account.stopped_sending and day >= self.account.stopped_sending:
            return 0
        u1 = hashing.unit(self.seed, self.account.username, self.kind, "n", k)
        u2 = hashing.unit(self.seed, self.account.username, self.kind, "r", k)
        x = self.per_day * (0.6 + 0.8 * u1)
        return int(x) + (1 if u2 < x - int(x) else 0)

    def _ensure(self, clock: dt.date) -> int:
        """Extend counts to every complete day before ``clock``; return that day count."""
        days = max(0, (clock - self.first_day).days)
        while len(self._counts) < days:
            n = self._count(len(self._counts))
            self._counts.append(n)
            self._prefix.append(self._prefix[-1] + n)
        return days

    def total(self, clock: dt.date) -> int:
        """Number of rows visible at ``clock`` (rows of complete days before it, not deleted)."""
        n = self._prefix[self._ensure(clock)]
        return n - sum(1 for i in self.deleted if i < n)

    def count_between(self, clock: dt.date, start_time: int | None, end_time: int | None) -> int:
        """Rows with ``start_time <= created <= end_time`` visible at ``clock``."""
        lo, hi = self._window(clock, start_time, end_time)
        return max(0, hi - lo) - sum(1 for i in self.deleted if lo <= i < hi)

    def _index_at(self, days: int, t: int) -> int:
        """Index of the first row with ``created >= t`` among the first ``days`` days."""
        base = _epoch(self.first_day)
        if t <= base:
            return 0
        k = (t - base) // 86400
        if k >= days:
            return self._prefix[days]
        n = self._counts[k]
        s = t - base - k * 86400
        j = -((-s * n) // 86400)  # ceil(s * n / 86400)
        return self._prefix[k] + min(j, n)

    def _window(self, clock: dt.date, start_time: int | None, end_time: int | None) -> tuple:
        days = self._ensure(clock)
        lo = 0 if start_time is None else self._index_at(days, start_time)
        hi = self._prefix[days] if end_time is None else self._index_at(days, end_time + 1)
        return lo, max(lo, hi)

    def page_json(
        self,
        clock: dt.date,
        offset: int,
        limit: int,
        start_time: int | None = None,
        end_time: int | None = None,
        email: str | None = None,
    ) -> str:
        """Return one page as a JSON array text.

        Args:
            clock: Simulated date.
            offset: Rows to skip inside the time window.
            limit: Page size.
            start_time: Inclusive lower bound on ``created`` (epoch seconds).
            end_time: Inclusive upper bound on ``created``.
            email: Case-insensitive prefix filter on ``email`` (``%`` matches anything).
        """
        lo, hi = self._window(clock, start_time, end_time)
        if email or any(lo <= i < hi for i in self.deleted):
            indices = self._matching(lo, hi, email.lower()) if email else range(lo, hi)
            live = [i for i in indices if i not in self.deleted][offset : offset + limit]
            return "[" + ",".join(self._row(i) for i in live) + "]"
        start = lo + offset
        stop = min(hi, start + limit)
        if start >= stop:
            return "[]"
        return "[" + ",".join(self._rows(start, stop)) + "]"

    def _matching(self, lo: int, hi: int, pattern: str) -> list[int]:
        prefix, _, rest = pattern.partition("%")
        out = []
        for i in range(lo, hi):
            e = self.email(i)
            if e.startswith(prefix) and (not _ or rest in e[len(prefix) :]):
                out.append(i)
        return out

    def email(self, i: int) -> str:
        """E-mail address of row ``i`` (unique within the list: it embeds ``i``)."""
        m = (i * _K + self._salt) & _M
        return f"{self._names[m >> 24]}.{i}@{self._domains[(m >> 18) & 63]}"

    def _row(self, i: int) -> str:
        k = bisect.bisect_right(self._prefix, i) - 1
        return next(iter(self._rows(i, i + 1, k)))

    def _rows(self, start: int, stop: int, k: int | None = None) -> list[str]:
        """JSON texts of rows ``start`` to ``stop`` (the benchmark's hot path).

        Rows are produced one day segment at a time by a list comprehension; a row's table
        picks come from one multiplicative hash of its index.
        """
        prefix, counts, names, domains = self._prefix, self._counts, self._names, self._domains
        if k is None:
            k = bisect.bisect_right(prefix, start) - 1
        base = _epoch(self.first_day) + k * 86400
        salt, tails = self._salt, self._tails
        nt = len(tails)
        out: list[str] = []
        i = start
        while i < stop:
            day_start, n = prefix[k], counts[k]
            end = min(stop, day_start + n)
            if end > i:
                out += [
                    f'{{"created":{base + ((j - day_start) * 86400) // n},"email":"'
                    f"{names[(m := (j * _K + salt) & _M) >> 24]}.{j}@{domains[(m >> 18) & 63]}"
                    f"{tails[(m >> 8) % nt]}"
                    for j in range(i, end)
                ]
                i = end
            k += 1
            base += 86400
        return out
