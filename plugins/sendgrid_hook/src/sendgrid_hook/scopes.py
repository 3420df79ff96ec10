"""Which scopes a credential needs, and which streams can run with the scopes it has.

``GET /v3/scopes`` returns the scopes of the calling key. Streams declare the scopes they
need; :func:`partition_streams` splits them into runnable streams and streams to skip (with
their missing scopes), so a key missing one scope degrades the run instead of failing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Scopes every utilization run needs; a key without them is reported by the Test button.
REQUIRED_SCOPES: tuple[str, ...] = (
    "user.account.read",
    "user.credits.read",
    "user.profile.read",
    "user.username.read",
    "stats.read",
    "stats.global.read",
    "categories.read",
    "categories.stats.read",
    "categories.stats.sums.read",
    "teammates.read",
    "api_keys.read",
    "templates.read",
    "templates.versions.read",
    "ips.read",
    "ips.assigned.read",
    "ips.pools.read",
    "whitelabel.read",
    "suppression.read",
    "suppression.bounces.read",
    "suppression.blocks.read",
    "suppression.spam_reports.read",
    "suppression.invalid_emails.read",
    "suppression.unsubscribes.read",
    "asm.groups.read",
    "user.webhooks.event.settings.read",
    "user.webhooks.parse.settings.read",
    "alerts.read",
    "mail_settings.read",
    "tracking_settings.read",
)

#: Scopes tied to licensed features or add-ons: absence is reported, never a failure.
OPTIONAL_SCOPES: tuple[str, ...] = (
    "marketing.read",
    "marketing.automation.read",
    "design_library.read",
    "subusers.read",
    "subusers.stats.read",
    "subusers.stats.sums.read",
    "subusers.stats.monthly.read",
    "subusers.reputations.read",
    "subusers.credits.read",
    "messages.read",
    "validations.email.read",
)


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

    :param needs: Stream name -> scopes the stream needs (all of them).
    :param granted: Scopes of the credential (``GET /v3/scopes``).
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
