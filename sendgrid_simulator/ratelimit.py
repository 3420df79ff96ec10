"""Per credential x endpoint fixed-window rate limits with ``X-RateLimit-*`` headers."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """``limit`` requests per ``window`` seconds."""

    limit: int
    window: float

    def __str__(self) -> str:
        return f"{self.limit}/{_fmt_window(self.window)}"


def _fmt_window(seconds: float) -> str:
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{int(seconds * 1000)}ms"


def parse_window(text: str) -> float:
    """Parse ``500ms``, ``1s``, ``60s``, ``2m``, ``1h`` (bare numbers are seconds)."""
    text = text.strip().lower()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


@dataclass
class RateLimitConfig:
    """Rate-limit rules.

    Syntax (CLI ``--rate-limit`` and control API ``spec``): comma-separated ``KEY=N/WINDOW``
    items. ``KEY`` is ``default`` or an endpoint path template (``/v3/stats``), optionally
    ending in ``*`` for a prefix (``/v3/suppression/*``). ``N/WINDOW`` may be ``off``.
    ``retry_after=on`` adds a ``Retry-After`` header to 429s. The whole spec ``off``
    disables rate limiting.

    Example: ``default=20/1s,/v3/messages=6/60s,/v3/suppression/*=100/10s``.
    """

    default: Rule | None = field(default_factory=lambda: Rule(1000, 1.0))
    rules: dict[str, Rule | None] = field(default_factory=dict)
    retry_after: bool = False

    @classmethod
    def parse(cls, spec: str) -> RateLimitConfig:
        """Parse the textual syntax above.

        Raises:
            ValueError: Malformed item.
        """
        spec = spec.strip()
        if spec.lower() in ("off", "none", ""):
            return cls(default=None)
        cfg = cls()
        for item in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"rate-limit item {item!r} is not KEY=N/WINDOW")
            key, value = key.strip(), value.strip()
            if key == "retry_after":
                cfg.retry_after = value.lower() in ("on", "1", "true", "yes")
                continue
            rule = None
            if value.lower() != "off":
                count, _, window = value.partition("/")
                rule = Rule(int(count), parse_window(window or "1s"))
            if key == "default":
                cfg.default = rule
            else:
                cfg.rules[key] = rule
        return cfg

    def rule_for(self, route: str) -> Rule | None:
        """The rule applying to ``route`` (exact, then longest prefix, then default)."""
        if route in self.rules:
            return self.rules[route]
        best = None
        for key in self.rules:
            if (
                key.endswith("*")
                and route.startswith(key[:-1])
                and (best is None or len(key) > len(best))
            ):
                best = key
        return self.rules[best] if best else self.default

    def to_spec(self) -> str:
        """Back to the textual syntax."""
        items = [f"default={self.default or 'off'}"]
        items += [f"{k}={v or 'off'}" for k, v in self.rules.items()]
        if self.retry_after:
            items.append("retry_after=on")
        return ",".join(items)


@dataclass
class Verdict:
    """Outcome of one rate-limit check."""

    allowed: bool
    headers: list[tuple[str, str]]


class RateLimiter:
    """Fixed windows aligned on the wall clock, one counter per (bucket, route)."""

    def __init__(self, config: RateLimitConfig | None = None) -> None:
        """Start with ``config`` (default rules when ``None``)."""
        self.config = config or RateLimitConfig()
        self._windows: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def set_config(self, config: RateLimitConfig) -> None:
        """Replace the rules and forget current windows."""
        with self._lock:
            self.config = config
            self._windows.clear()

    def check(self, bucket: str, route: str, now: float | None = None, offset: int = 0) -> Verdict:
        """Count one request and return whether it is allowed, with its headers.

        Windows are counted on the real clock (``now``, default :func:`time.time`), but
        ``X-RateLimit-Reset`` is expressed, as SendGrid's is, in the clock of the ``Date``
        header: the real Unix time of the window's end plus ``offset``, the seconds the
        simulated clock is ahead of real time (whole days; negative when behind).
        """
        rule = self.config.rule_for(route)
        if rule is None:
            return Verdict(True, [])
        now = time.time() if now is None else now
        start = math.floor(now / rule.window) * rule.window
        with self._lock:
            state = self._windows.get((bucket, route))
            if state is None or state[0] != start:
                state = [start, 0]
                self._windows[(bucket, route)] = state
            state[1] += 1
            used = state[1]
        reset = math.ceil(start + rule.window) + offset
        allowed = used <= rule.limit
        headers = [
            ("x-ratelimit-limit", str(rule.limit)),
            ("x-ratelimit-remaining", str(max(0, rule.limit - used))),
            ("x-ratelimit-reset", str(reset)),
        ]
        if not allowed and self.config.retry_after:
            headers.append(("retry-after", str(max(1, math.ceil(start + rule.window - now)))))
        return Verdict(allowed, headers)
