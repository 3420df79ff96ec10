"""Client-side rate limiting from SendGrid's ``X-RateLimit-*`` headers.

SendGrid limits each endpoint separately and reports, on every response, the window's
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix seconds).
:class:`RateLimiter` keeps that state per *bucket* (endpoint path, per ``on-behalf-of``
account) and, before each request, waits until the reset when the window is used up, so a
run slows down *before* the server answers 429. Requests in flight are counted locally so
several threads sharing a hook do not overshoot. After a 429 the bucket is closed until
``Retry-After`` / the reset.

Every wait is capped at ``max_wait`` seconds (the connection extra ``max_wait``). A reset further
away than that is not a rate-limit window but a broken or hostile value (a server once answered
``X-RateLimit-Reset`` in the year 2100): it is ignored, with one warning per bucket, so it can
neither stall every request nor be adopted as a wait. A ``Retry-After`` beyond the cap is handled
by the transport, which gives up on the request instead of sleeping.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)
DEFAULT_MAX_WAIT = 120.0


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


class RateLimiter:
    """Per-bucket limiter fed by response headers.

    Args:
        reserve: Requests left unused in every window (head-room for other clients).
        max_wait: Longest single wait in seconds (protects against a bogus reset).
        margin: Seconds added after the reset to absorb clock granularity.
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
        self._lock = threading.Lock()

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
        """Record the rate-limit headers of a response to ``bucket``."""
        limit = _int(headers.get("X-RateLimit-Limit"))
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset = _int(headers.get("X-RateLimit-Reset"))
        retry_after = retry_after_seconds(headers)
        with self._lock:
            state = self._buckets.setdefault(bucket, BucketState())
            now = self.clock()
            if limit is not None:
                state.limit = limit
            plausible = reset is None or reset - now <= self.max_wait
            if not plausible and not state.warned:
                state.warned = True
                log.warning(
                    "SendGrid: ignoring X-RateLimit-Reset %s on %s: %.0f s away, beyond the "
                    "%.0f s cap (max_wait)",
                    reset, bucket, reset - now, self.max_wait,
                )  # fmt: skip
            if reset is not None and plausible:
                state.reset_at = float(reset)
            if remaining is not None and plausible:
                state.remaining = remaining
            if status == 429:
                state.remaining = 0
                if retry_after is not None:
                    state.reset_at = max(state.reset_at, now + min(retry_after, self.max_wait))
                elif state.reset_at <= now:
                    state.reset_at = now + 1.0

    def seconds_until_reset(self, bucket: str) -> float:
        """Seconds until ``bucket``'s window resets (0 when unknown or past)."""
        with self._lock:
            state = self._buckets.get(bucket)
            return max(0.0, state.reset_at - self.clock()) if state else 0.0


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Parse a ``Retry-After`` header given in seconds (HTTP dates are ignored)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
