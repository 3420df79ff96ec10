"""Client-side rate limiting from SendGrid's ``X-RateLimit-*`` headers.

SendGrid limits each endpoint separately and reports, on every response, the window's
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix seconds).
:class:`RateLimiter` keeps that state per *bucket* (the endpoint's path template: the ids of a
fan-out, and the accounts a credential acts as, share it) and, before each request, waits
until the reset when the window is used up, so a run slows down *before* the server answers
429. Requests in flight are counted locally so several threads sharing a hook do not
overshoot. After a 429 the bucket is closed until
``Retry-After`` / the reset.

``X-RateLimit-Reset`` is a time in the *server's* clock. A worker whose clock is off by minutes
would see every reset in the past (clock ahead: no pacing, a burst of 429s) or further than
``max_wait`` (clock behind: ignored, no pacing either). So the limiter estimates the server's
clock offset from the ``Date`` header (RFC 7231, whole seconds, the time the server produced the
response) and converts every reset to the local clock (``reset - offset``) before using it.
Each sample ``Date - local time at receipt`` is at most the true offset (``Date`` is truncated
and the response took time to arrive), so the estimate is the largest of the last
:data:`OFFSET_SAMPLES` samples: the tightest bound, never ahead of the server (which would send
requests before the reset). A sample lower than the estimate by more than :data:`OFFSET_STEP`
is a clock step (the worker's clock corrected, a server's jumping a day) and restarts the
estimate. A ``Date`` missing, unparseable or more than :data:`MAX_CLOCK_OFFSET` away is ignored;
an estimate within the header's 1-s resolution counts as no offset. Without a ``Date`` the
offset is 0 (the local clock is trusted, as before).

Every wait is capped at ``max_wait`` seconds (the connection extra ``max_wait``). A reset further
away than that (after the clock correction) is not a rate-limit window but a broken or hostile
value (a server once answered ``X-RateLimit-Reset`` in the year 2100): it is ignored, with one
warning per bucket, so it can neither stall every request nor be adopted as a wait. A
``Retry-After`` (seconds, or an HTTP date: :func:`retry_after_seconds`) beyond the cap is handled
by the transport, which gives up on the request instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)
DEFAULT_MAX_WAIT = 120.0
OFFSET_SAMPLES = 64
"""``Date`` samples the clock-offset estimate keeps (the largest wins)."""
OFFSET_STEP = 60.0
"""A sample this many seconds below the estimate is a clock step: the estimate restarts."""
OFFSET_RESOLUTION = 1.0
"""An estimated offset smaller than this (the ``Date`` header's resolution) counts as none."""
MAX_CLOCK_OFFSET = 10 * 366 * 86400.0
"""A ``Date`` further than this from the local clock (ten years) is broken, not a skew."""


@dataclass
class BucketState:
    """What the server last said about one bucket."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float = 0.0
    warned: bool = False


def _int(value: str | None) -> int | None:
    """A header's number (``"1.5e9"`` included), or ``None``.

    ``None`` when absent, not a number or not finite (``inf``, ``nan``, ``1e400``: ``int()``
    would raise ``OverflowError`` out of :meth:`RateLimiter.update`).
    """
    if value is None:
        return None
    try:
        number = float(value)  # "1e400" is inf, not an error
    except ValueError:
        return None
    return int(number) if math.isfinite(number) else None


def date_header(value: str | None) -> dt.datetime | None:
    """The instant of an HTTP ``Date`` header (RFC 7231) in UTC, or ``None``.

    ``None`` when absent or unparseable. A date without a zone is read as UTC.
    """
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
        return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


def date_seconds(value: str | None) -> float | None:
    """The Unix time of an HTTP ``Date`` header (:func:`date_header`), or ``None``."""
    when = date_header(value)
    try:
        return when.timestamp() if when is not None else None
    except (OverflowError, OSError, ValueError):
        return None


class RateLimiter:
    """Per-bucket limiter fed by response headers.

    Args:
        reserve: Requests left unused in every window (head-room for other clients).
        max_wait: Longest single wait in seconds (protects against a bogus reset).
        margin: Seconds added after the reset to absorb clock granularity.
        clock: The local wall clock (Unix seconds); tests pass a skewed or fake one.
        sleep: How :meth:`acquire` waits.
    """

    def __init__(
        self,
        reserve: int = 0,
        max_wait: float = DEFAULT_MAX_WAIT,
        margin: float = 0.01,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reserve = reserve
        self.max_wait = max_wait
        self.margin = margin
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        self.waits = 0
        self._buckets: dict[str, BucketState] = {}
        self._offsets: deque[float] = deque(maxlen=OFFSET_SAMPLES)
        self._lock = threading.Lock()

    @property
    def clock_offset(self) -> float:
        """Seconds the server's clock is ahead of :attr:`clock` (negative: behind; 0: unknown)."""
        with self._lock:
            return self._offset()

    def _offset(self) -> float:
        """The estimate in force (call with the lock held)."""
        if not self._offsets:
            return 0.0
        estimate = max(self._offsets)
        return estimate if abs(estimate) >= OFFSET_RESOLUTION else 0.0

    def _observe_date(self, value: str | None, now: float) -> None:
        """Add the sample of a response's ``Date`` received at ``now`` (lock held)."""
        date = date_seconds(value)
        if date is None:
            return
        sample = date - now
        if not abs(sample) <= MAX_CLOCK_OFFSET:
            return
        if self._offsets and sample < max(self._offsets) - OFFSET_STEP:
            log.info(
                "SendGrid: the server's clock moved by %+.0f s relative to this worker's",
                sample - max(self._offsets),
            )
            self._offsets.clear()
        self._offsets.append(sample)

    def acquire(self, bucket: str) -> float:
        """Wait, if needed, until a request to ``bucket`` may be sent; return seconds waited."""
        delay = self.delay_for(bucket)
        if delay > 0:
            self.sleep(delay)
        return delay

    def delay_for(self, bucket: str) -> float:
        """Reserve a request to ``bucket``; return how long to wait first (at most ``max_wait``).

        The caller sleeps (or gives up, when the wait does not fit its time budget).
        """
        delay = 0.0
        with self._lock:
            state = self._buckets.setdefault(bucket, BucketState())
            now = self.clock()
            if state.reset_at and now >= state.reset_at:
                state.remaining = None
            if state.remaining is not None and state.remaining <= self.reserve:
                delay = min(self.max_wait, state.reset_at - now + self.margin)
                state.remaining = None  # the next window starts after the wait
            elif state.remaining is not None:
                state.remaining -= 1  # count the request we are about to send
            if delay > 0:
                self.waits += 1
                self.waited += delay
        return max(delay, 0.0)

    def update(self, bucket: str, headers: Mapping[str, str], status: int) -> None:
        """Record the rate-limit headers (and the ``Date``) of a response to ``bucket``.

        Call it as soon as the response is in: the local time of the call is the receipt time
        of the ``Date`` sample.
        """
        limit = _int(headers.get("X-RateLimit-Limit"))
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset = _int(headers.get("X-RateLimit-Reset"))
        retry_after = retry_after_seconds(headers, self.clock())
        with self._lock:
            state = self._buckets.setdefault(bucket, BucketState())
            now = self.clock()
            self._observe_date(headers.get("Date"), now)
            offset = self._offset()
            local_reset = None if reset is None else reset - offset  # in the local clock
            if limit is not None:
                state.limit = limit
            plausible = local_reset is None or local_reset - now <= self.max_wait
            if not plausible and not state.warned:
                state.warned = True
                log.warning(
                    "SendGrid: ignoring X-RateLimit-Reset %s on %s: %.0f s away (server clock "
                    "%+.0f s from this worker's), beyond the %.0f s cap (max_wait)",
                    reset, bucket, local_reset - now, offset, self.max_wait,
                )  # fmt: skip
            if local_reset is not None and plausible:
                state.reset_at = local_reset
            if remaining is not None and plausible:
                state.remaining = remaining
            if status == 429:
                state.remaining = 0
                if retry_after is not None and retry_after <= self.max_wait:
                    state.reset_at = max(state.reset_at, now + retry_after)
                elif state.reset_at <= now:
                    # no usable Retry-After (none, or beyond the cap: the transport gives up on
                    # that request rather than wait): one second, never the cap, for the rest
                    # of the endpoint's requests (a fan-out's other ids, the other subusers)
                    state.reset_at = now + 1.0

    def seconds_until_reset(self, bucket: str) -> float:
        """Seconds until ``bucket``'s window resets (0 when unknown or past)."""
        with self._lock:
            state = self._buckets.get(bucket)
            return max(0.0, state.reset_at - self.clock()) if state else 0.0


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait, or ``None`` (absent, unreadable).

    RFC 9110 allows seconds or an HTTP date. A date is measured from the response's own
    ``Date`` when it has one (both in the server's clock: a worker's clock skew changes
    nothing), else from ``now`` (the local clock; default :func:`time.time`). A date in the
    past is no wait. Callers apply the same ``max_wait`` cap to both forms.
    """
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    at = date_seconds(value)
    if at is None:
        return None
    since = date_seconds(headers.get("Date"))
    if since is None:
        since = time.time() if now is None else now
    return max(0.0, at - since)
