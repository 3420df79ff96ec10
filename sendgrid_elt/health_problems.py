"""What a tenant's health problems are: per stream from a run, as alert keys, told, in words.

* :func:`stream_problems` - a run's stream outcomes as ``stream_problems`` (``{stream: {"kind":
  "failed" | "held_deletions" | "skipped_units" | "refused_ids" | "rejected", "detail",
  "count"}}``; ``skipped_units`` also names its ``subusers``, ``refused_ids`` its ``ids``);
* :func:`problem_keys` - what a ``degraded`` alert is about: ``scope:<scope>``,
  ``stream:<name>:<kind>``, and one ``stream:<name>:skipped_units:<subuser>`` per refused
  subuser (a new refused subuser is a new problem, the same one refused again is not);
* :func:`told_problems` / :func:`alerted_keys` - what delivered alerts told of (the
  ``alerted_problems`` column), rows of earlier versions included;
* :func:`problems_text` / :func:`told_text` - the problems in words, for alerts and logs.

The alert decision itself is :mod:`sendgrid_elt.health_store`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sendgrid_hook.display import plural, printable, shorten
from sendgrid_hook.redaction import scrub

#: The ``stream_problems`` key of a run that failed outside its streams (the scope check, the
#: API's clock, the state read): the tenant is ``degraded`` until a run reaches its streams.
RUN_PROBLEM = "(run)"
#: A told problem not seen for this long is forgotten: when it comes back, it is a new one.
FORGET_TOLD_AFTER = dt.timedelta(hours=24)
SKIPPED = "skipped_units"
#: A snapshot's mass deletion held until the next complete read agrees (``snapshot_guard``).
HELD = "held_deletions"
#: A fan-out's parent ids (API keys, templates) refused while their list reads (``unit_reads``).
REFUSED = "refused_ids"


def stream_problems(outcomes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Streams of a run that failed, held deletions, skipped subusers, or rejected records.

    A subuser SendGrid refused (403/404, or 451: its data in another region) that still exists
    is missing from the tenant's totals: ``skipped_units``, named with the reason (the count is
    of subusers, ``subusers`` their names; a stream that also rejected records keeps that count
    in ``rejected``). One deleted or disabled since the run read the subuser list is no problem
    (see :mod:`sendgrid_elt.subuser_roster`). A complete read that would have marked most of a
    unit's keys deleted is ``held_deletions`` (``count``: units held; ``detail`` names each with
    its counts): nothing of it was deleted, the next complete read decides. A fan-out's parent
    ids SendGrid refused while their list reads (an API key's scopes, a template's versions:
    rows kept, the data missing) are ``refused_ids`` (``count`` and ``ids``), one problem per
    stream.

    Args:
        outcomes: Stream name -> ``StreamOutcome`` (anything with ``status``, ``detail`` and
            ``rejected``; ``skipped`` and ``held`` when it has them).

    Returns:
        ``{stream: {"kind": "failed" | "held_deletions" | "skipped_units" | "refused_ids" |
        "rejected", "detail": ..., "count": n}}``.
    """
    problems: dict[str, dict[str, Any]] = {}
    for name, outcome in outcomes.items():
        rejected = int(getattr(outcome, "rejected", 0) or 0)
        skipped = dict(getattr(outcome, "skipped", None) or {})
        held = dict(getattr(outcome, "held", None) or {})
        refused = dict(getattr(outcome, "refused", None) or {})
        detail = shorten(printable(scrub(str(getattr(outcome, "detail", "") or ""))), 300)
        if outcome.status == "error":
            problems[name] = {"kind": "failed", "detail": detail, "count": rejected}
        elif held:  # one run at most: a refused subuser, lasting, must not hide it
            what = "; ".join(held[u] for u in sorted(held))
            problems[name] = {"kind": HELD, "detail": shorten(printable(scrub(what)), 300),
                              "count": len(held), "rejected": rejected}  # fmt: skip
        elif skipped:
            units = ", ".join(f"{u or 'parent'} ({why})" for u, why in sorted(skipped.items()))
            what = f"{len(skipped)} {plural('subuser', len(skipped))} skipped, rows kept: {units}"
            problems[name] = {"kind": SKIPPED, "detail": shorten(printable(scrub(what)), 300),
                              "count": len(skipped),
                              "rejected": rejected, "subusers": sorted(skipped)}  # fmt: skip
        elif refused:
            ids = ", ".join(f"{pid} ({why})" for pid, why in sorted(refused.items()))
            what = f"{len(refused)} parent {plural('id', len(refused))} refused, rows kept: {ids}"
            problems[name] = {"kind": REFUSED, "detail": shorten(printable(scrub(what)), 300),
                              "count": len(refused), "rejected": rejected,
                              "ids": sorted(refused)[:100]}  # fmt: skip
        elif rejected:
            problems[name] = {"kind": "rejected", "detail": detail, "count": rejected}
    return problems


#: The counted kinds in words (:func:`problems_text`, when a problem has no ``detail``).
_WHAT = {SKIPPED: "subusers skipped", HELD: "deletions held", REFUSED: "parent ids refused"}


def problem_signature(problems: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Sorted ``(stream, kind)`` pairs of ``stream_problems`` (counts and names left out)."""
    return sorted((stream, str((p or {}).get("kind"))) for stream, p in (problems or {}).items())


def problem_keys(
    missing_scopes: Sequence[str] | None, problems: Mapping[str, Any] | None
) -> list[str]:
    """A degraded tenant's problems as sorted keys (see the module docstring).

    A ``skipped_units`` problem stored by an earlier version (no ``subusers``) keeps its one
    key ``stream:<name>:skipped_units``.
    """
    keys = {f"scope:{scope}" for scope in missing_scopes or ()}
    for stream, kind in problem_signature(problems):
        names = (problems or {})[stream] or {}
        names = names.get("subusers") if kind == SKIPPED else None
        if isinstance(names, list) and names:
            keys.update(f"stream:{stream}:{kind}:{name}" for name in names)
        else:
            keys.add(f"stream:{stream}:{kind}")
    return sorted(keys)


def alert_undelivered(previous: Mapping[str, Any]) -> bool:
    """The alert of the current status was claimed but never delivered (release_alert undid it)."""
    since, last_alert = previous.get("status_since"), previous.get("last_alert_at")
    return since is not None and (last_alert is None or last_alert < since)


def told_problems(
    previous: Mapping[str, Any] | None, current: Sequence[str] = ()
) -> dict[str, str]:
    """The problem keys delivered alerts told of, each with when it was last seen (ISO-8601).

    A list (this column's first form) or NULL (a row from before it: it had alerted its stored
    problems when degraded and its alert was delivered, the rule then) counts as seen at the
    row's last check. A stream's ``skipped_units`` told without naming its subusers (an earlier
    version's key) covers the ``current`` ones of that stream when they are no more than the
    subusers it told of (their ``count``); more are a new problem.
    """
    if not previous:
        return {}
    stored = previous.get("alerted_problems")
    if isinstance(stored, Mapping):
        told = {str(k): str(v) for k, v in stored.items()}
    else:
        checked = previous.get("last_checked_at")
        seen = checked.isoformat() if checked is not None else dt.datetime.now(dt.UTC).isoformat()
        if stored is not None:
            told = dict.fromkeys(map(str, stored), seen)
        elif previous.get("status") == "degraded" and not alert_undelivered(previous):
            keys = problem_keys(previous.get("missing_scopes"), previous.get("stream_problems"))
            told = dict.fromkeys(keys, seen)
        else:
            return {}
    return _named(told, previous.get("stream_problems") or {}, current)


def _named(
    told: dict[str, str], stored: Mapping[str, Any], current: Sequence[str]
) -> dict[str, str]:
    """Earlier versions' unnamed ``skipped_units`` keys as the current subusers' (see above)."""
    out = dict(told)
    for key, seen in told.items():
        stream = key[len("stream:") : -len(f":{SKIPPED}")]
        if not (key.startswith("stream:") and key.endswith(f":{SKIPPED}") and ":" not in stream):
            continue
        named = [k for k in current if k.startswith(f"{key}:")]
        was = stored.get(stream) or {}
        if named and "subusers" not in was and len(named) <= int(was.get("count") or 0):
            del out[key]
            out.update(dict.fromkeys(named, seen))
    return out


def alerted_keys(
    previous: Mapping[str, Any] | None, now: dt.datetime, current: Sequence[str] = ()
) -> list[str]:
    """The told problems still remembered at ``now`` (seen within ``FORGET_TOLD_AFTER``)."""
    return sorted(k for k, seen in told_problems(previous, current).items()
                  if now - dt.datetime.fromisoformat(seen) < FORGET_TOLD_AFTER)  # fmt: skip


def problems_text(problems: Mapping[str, Any] | None) -> str:
    """``stream_problems`` in words (an alert's reason, a log line)."""
    parts = []
    for name, p in sorted((problems or {}).items()):
        count = p.get("count")
        if name == RUN_PROBLEM:
            parts.append(f"the run failed outside its streams ({p.get('detail') or 'see logs'})")
        elif p.get("kind") == "failed":
            parts.append(f"stream {name} failed ({p.get('detail') or 'see stream_status'})")
        elif p.get("kind") in _WHAT:
            rejected = p.get("rejected") or 0
            also = f"; it rejected {rejected} {plural('record', rejected)}" if rejected else ""
            what = _WHAT[p["kind"]]
            parts.append(f"stream {name}: {p.get('detail') or f'{count} {what}'}{also}")
        else:
            parts.append(f"stream {name} rejected {count} {plural('record', count)}")
    return "; ".join(parts)


def told_text(keys: Sequence[str]) -> str:
    """The problems of :func:`problem_keys` in words (refused subusers named per stream)."""
    scopes = [k.split(":", 1)[1] for k in keys if k.startswith("scope:")]
    told: dict[tuple[str, str], list[str]] = {}
    for key in keys:
        if key.startswith("stream:"):
            name, kind, *who = key[len("stream:") :].split(":", 2)
            told.setdefault((name, kind), []).extend(w or "parent" for w in who)
    parts = []
    for (name, kind), who in told.items():
        if name == RUN_PROBLEM:
            parts.append("the run failed outside its streams")
        else:
            what = {"failed": "failed", SKIPPED: "skipped subusers", HELD: "held deletions",
                    REFUSED: "refused parent ids"}.get(kind, "rejected records")  # fmt: skip
            parts.append(f"stream {name} {what}" + (f" ({', '.join(who)})" if who else ""))
    if scopes:
        parts.append(f"missing {plural('scope', len(scopes))}: {', '.join(scopes)}")
    return "; ".join(parts)
