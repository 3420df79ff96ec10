"""Which scopes a credential needs, and which streams can run with the scopes it has.

``GET /v3/scopes`` returns the scopes of the calling key. What a credential *needs* depends on
what the pipeline reads, so the provider does not list scopes itself: a pipeline declares its
requirements through the entry-point group :data:`REQUIREMENTS_ENTRY_POINT` (the SendGrid
utilization pipeline registers ``sendgrid_elt.catalog:scope_requirements``, derived from its
stream catalog). :func:`scope_requirements` merges what is registered; the connection extra
``required_scopes`` overrides the required part per connection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points

log = logging.getLogger(__name__)

#: Entry-point group whose objects are callables returning :class:`ScopeRequirements`.
REQUIREMENTS_ENTRY_POINT = "sendgrid_hook.scope_requirements"


@dataclass(frozen=True)
class ScopeRequirements:
    """Scopes a pipeline needs.

    Attributes:
        required: Scopes without which data is missing (a Test with them absent fails).
        optional: Scopes of plan features or add-ons; absence means "not licensed".
        disables: Scope -> the streams (data) it gates, to tell an admin what a gap costs.
    """

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    disables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def merge(self, other: ScopeRequirements) -> ScopeRequirements:
        """Union of two requirement sets (a scope required by either stays required)."""
        required = tuple(sorted({*self.required, *other.required}))
        optional = tuple(sorted({*self.optional, *other.optional} - set(required)))
        disables = {k: tuple(v) for k, v in self.disables.items()}
        for scope, streams in other.disables.items():
            disables[scope] = tuple(dict.fromkeys([*disables.get(scope, ()), *streams]))
        return ScopeRequirements(required, optional, disables)

    def describe(self, scopes: Iterable[str]) -> str:
        """Each scope with the streams it gates: ``"a.read (s1, s2); b.read (s3)"``."""
        return "; ".join(
            f"{scope} ({', '.join(self.disables[scope])})" if self.disables.get(scope) else scope
            for scope in scopes
        )


@cache
def scope_requirements() -> ScopeRequirements:
    """Requirements registered by installed pipelines (empty when none is installed)."""
    merged = ScopeRequirements()
    for entry in entry_points(group=REQUIREMENTS_ENTRY_POINT):
        try:
            merged = merged.merge(entry.load()())
        except Exception:  # a broken third-party entry point must not break the Test button
            log.exception("scope requirements %s could not be loaded", entry.value)
    return merged


@dataclass(frozen=True)
class ScopeReport:
    """Outcome of checking stream needs against the granted scopes."""

    granted: frozenset[str]
    runnable: tuple[str, ...] = ()
    skipped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def missing_scopes(self) -> tuple[str, ...]:
        """Sorted union of the scopes missing for skipped streams."""
        return tuple(sorted({s for scopes in self.skipped.values() for s in scopes}))

    @property
    def degraded(self) -> bool:
        """Whether at least one stream is skipped."""
        return bool(self.skipped)


def missing_scopes(required: Iterable[str], granted: Iterable[str]) -> tuple[str, ...]:
    """Return the sorted scopes of ``required`` that are not in ``granted``."""
    have = set(granted)
    return tuple(sorted({s for s in required if s not in have}))


def partition_streams(needs: Mapping[str, Iterable[str]], granted: Iterable[str]) -> ScopeReport:
    """Split streams into runnable ones and skipped ones (with what each is missing).

    Args:
        needs: Stream name -> scopes the stream needs (all of them).
        granted: Scopes of the credential (``GET /v3/scopes``).

    Returns:
        The runnable streams and, per skipped stream, its missing scopes.
    """
    have = frozenset(granted)
    runnable: list[str] = []
    skipped: dict[str, tuple[str, ...]] = {}
    for stream, scopes in needs.items():
        lacking = missing_scopes(scopes, have)
        if lacking:
            skipped[stream] = lacking
        else:
            runnable.append(stream)
    return ScopeReport(granted=have, runnable=tuple(runnable), skipped=skipped)
