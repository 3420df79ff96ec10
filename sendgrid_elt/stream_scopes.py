"""What a credential needs: the scopes of the catalog's streams, and why a stream cannot run.

The one place that decides it from :data:`sendgrid_elt.catalog.STREAMS`: the provider's Test
button and the Connect page read :func:`scope_requirements` (registered through the entry point
``sendgrid_hook.scope_requirements``), the extractor :func:`scope_status`, connection health
:func:`scope_report`; the README's scope list is :func:`scopes_markdown`
(``python -m sendgrid_elt.stream_scopes`` prints it).
"""

from __future__ import annotations

import functools

from sendgrid_hook.scopes import ScopeReport, ScopeRequirements, partition_streams

from sendgrid_elt.catalog import STREAMS, StreamSpec, select

#: Scopes a Full Access key never carries, so their absence says nothing about the plan: "An
#: Email Validation API key is separate from and in addition to your other keys, including Full
#: Access API keys" (the OpenAPI spec's email_validation ``info``).
SEPARATE_KEY_SCOPES = frozenset({"validations.email.read"})


@functools.cache  # the catalog is constant; scope_status asks for it once per stream
def scope_requirements() -> ScopeRequirements:
    """Scopes the catalog's streams need (the provider's Test button and the Connect page use it).

    Required: the scopes of streams every plan has. Optional: the scopes of plan-feature streams
    (SendGrid grants them only when the plan includes the feature). Registered with the
    provider through the ``sendgrid_hook.scope_requirements`` entry point (``pyproject.toml``).
    """
    required = sorted({s.scope for s in STREAMS if s.scope and not s.feature})
    optional = sorted({s.scope for s in STREAMS if s.scope and s.feature} - set(required))
    disables = {
        scope: tuple(s.name for s in STREAMS if s.scope == scope) for scope in required + optional
    }
    return ScopeRequirements(tuple(required), tuple(optional), disables)


def scope_status(spec: StreamSpec, granted: frozenset[str]) -> tuple[str, str] | None:
    """Why ``spec`` cannot run with ``granted`` scopes: ``(status, detail)``, or ``None``.

    A feature stream without its scope is ``not_licensed`` (a utilization fact: SendGrid grants
    feature scopes only on plans with the feature) when the key holds every required scope (a
    full-access key, or one made from the README's list). A key missing a required scope is a
    restricted key whose missing feature scopes say nothing about the plan: ``missing_scope``
    (unknown), as for any other stream; so is a missing :data:`SEPARATE_KEY_SCOPES` scope.
    """
    if not spec.scope or spec.scope in granted:
        return None
    lacking = [s for s in scope_requirements().required if s not in granted]
    if spec.scope in SEPARATE_KEY_SCOPES:
        why = f" (a Full Access key never carries it: the plan may include {spec.feature})"
    elif spec.feature and not lacking:
        return "not_licensed", f"scope {spec.scope} not granted: the plan lacks {spec.feature}"
    else:
        why = f" (and required scopes: the plan may include {spec.feature})" if spec.feature else ""
    return "missing_scope", f"credential lacks scope {spec.scope}{why}"


def scope_report(granted: frozenset[str], streams: list[str] | None = None) -> ScopeReport:
    """Streams of a run that can read with ``granted``, and those skipped for a missing scope.

    Feature streams are left out of the report: their absence is "not licensed", not a
    degraded connection.
    """
    needs = {s.name: [s.scope] for s in select(streams) if s.scope and not s.feature}
    return partition_streams(needs, granted)


def scopes_markdown() -> str:
    """The README's scope list (``python -m sendgrid_elt.stream_scopes`` prints it)."""
    needs = scope_requirements()
    return (
        f"Required scopes: `{' '.join(needs.required)}`.\n\n"
        f"Optional (plan features; with every required scope granted, a missing one is "
        f'reported as "not licensed", else as unknown; the rest still loads): '
        f"`{' '.join(needs.optional)}`. A Full Access key never carries "
        f"`{' '.join(sorted(SEPARATE_KEY_SCOPES))}` (Email Address Validation, Pro and Premier "
        f"plans): without it on the key, validation use is reported as unknown.\n"
    )


if __name__ == "__main__":
    print(scopes_markdown(), end="")
