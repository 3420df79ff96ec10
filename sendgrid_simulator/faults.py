"""Deterministic fault injection: 429 bursts, 5xx, slow replies, dropped connections, truncation.

A decision depends only on ``(fault seed, request identity, attempt number)``, so a client
replaying the same requests sees the same faults, and a retry is a fresh draw. Faults are
decided before the handler runs and never change server state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from . import hashing

KINDS: tuple[str, ...] = ("429", "500", "502", "503", "slow", "drop", "truncate")


@dataclass
class FaultConfig:
    """Fault rates and knobs.

    Syntax (CLI ``--faults`` and control API ``spec``): comma-separated ``KEY=VALUE``. Rate
    keys are :data:`KINDS` (probability per request, 0..1); knobs: ``slow_seconds`` (delay
    of a slow reply, default 3), ``burst`` (consecutive 429s per credential x endpoint once a
    429 fires, default 3), ``max_consecutive`` (a request identity never faults more than
    this many times in a row, default 3), ``seed`` (defaults to the dataset seed),
    ``latency_seconds`` (every authenticated ``/v3`` reply waits this long, like SendGrid's own
    round trip; default 0, not a fault: it needs no rate).

    Example: ``500=0.05,502=0.01,429=0.02,slow=0.01,drop=0.01,truncate=0.02,slow_seconds=2``.
    """

    rates: dict[str, float] = field(default_factory=dict)
    slow_seconds: float = 3.0
    burst: int = 3
    max_consecutive: int = 3
    seed: int | None = None
    latency_seconds: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        """Parse the textual syntax.

        Raises:
            ValueError: Unknown key or bad number.
        """
        cfg = cls()
        for item in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"fault item {item!r} is not KEY=VALUE")
            cfg.set(key.strip(), value.strip())
        return cfg

    @classmethod
    def from_dict(cls, data: dict) -> FaultConfig:
        """Build from a JSON object (``{"500": 0.1, "slow_seconds": 1}`` or ``{"spec": ...}``)."""
        if "spec" in data:
            return cls.parse(str(data["spec"]))
        cfg = cls()
        for key, value in data.items():
            if key == "rates":
                for k, v in value.items():
                    cfg.set(k, v)
            else:
                cfg.set(key, value)
        return cfg

    def set(self, key: str, value: object) -> None:
        """Set one rate or knob.

        Raises:
            ValueError: Unknown key.
        """
        if key in KINDS:
            rate = float(value)  # type: ignore[arg-type]
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {key}={rate} outside 0..1")
            self.rates[key] = rate
        elif key in ("slow_seconds", "latency_seconds"):
            number = float(value)  # type: ignore[arg-type]
            if number < 0:
                raise ValueError(f"{key} must not be negative, got {number}")
            setattr(self, key, number)
        elif key in ("burst", "max_consecutive"):
            setattr(self, key, int(value))  # type: ignore[call-overload]
        elif key == "seed":
            self.seed = int(value)  # type: ignore[call-overload]
        else:
            raise ValueError(f"unknown fault key {key!r}; expected {', '.join(KINDS)} or a knob")

    def to_dict(self) -> dict:
        """JSON-friendly view."""
        return {
            "rates": dict(self.rates),
            "slow_seconds": self.slow_seconds,
            "burst": self.burst,
            "max_consecutive": self.max_consecutive,
            "seed": self.seed,
            "latency_seconds": self.latency_seconds,
        }


class FaultInjector:
    """Decides, per request, whether and how to fail."""

    def __init__(self, seed: int, config: FaultConfig | None = None) -> None:
        """Create an injector for dataset ``seed``."""
        self.dataset_seed = seed
        self.config = config or FaultConfig()
        self._attempts: dict[str, int] = {}
        self._streak: dict[str, int] = {}
        self._bursts: dict[str, int] = {}
        self._lock = threading.Lock()

    def set_config(self, config: FaultConfig) -> None:
        """Replace the configuration and restart the deterministic sequence."""
        with self._lock:
            self.config = config
            self._attempts.clear()
            self._streak.clear()
            self._bursts.clear()

    @property
    def active(self) -> bool:
        """True when any rate is positive."""
        return any(v > 0 for v in self.config.rates.values())

    def decide(self, identity: str, burst_key: str) -> str | None:
        """Return the fault kind for this attempt of request ``identity`` (or ``None``).

        Args:
            identity: Method, path, sorted query, ``on-behalf-of`` and credential bucket.
            burst_key: Credential bucket x endpoint (429 bursts continue across requests).
        """
        cfg = self.config
        seed = self.dataset_seed if cfg.seed is None else cfg.seed
        with self._lock:
            if self._bursts.get(burst_key, 0) > 0:
                self._bursts[burst_key] -= 1
                return "429"
            attempt = self._attempts.get(identity, 0)
            self._attempts[identity] = attempt + 1
            if self._streak.get(identity, 0) >= cfg.max_consecutive:
                self._streak[identity] = 0
                return None
            u = hashing.unit("fault", seed, identity, attempt)
            kind = None
            acc = 0.0
            for name in KINDS:
                acc += cfg.rates.get(name, 0.0)
                if u < acc:
                    kind = name
                    break
            if kind is None:
                self._streak[identity] = 0
                return None
            self._streak[identity] = self._streak.get(identity, 0) + 1
            if kind == "429" and cfg.burst > 1:
                self._bursts[burst_key] = cfg.burst - 1
            return kind
