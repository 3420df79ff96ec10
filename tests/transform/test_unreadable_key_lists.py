"""The API-key card names no key the pipeline can no longer read.

A tenant whose key lost ``api_keys.read`` ten days ago keeps the keys an earlier key listed
in staging (one of them with full access). ``rpt_sendgrid_api_key_summary`` counts them as
unknown (null); ``rpt_sendgrid_api_keys_flagged``, the list the same card shows under them,
must not name them as the tenant's full-access keys at the as-of either: it may have been
deleted since. Added beside the ``built`` scenario (``conftest``), then removed.
"""

from __future__ import annotations

import datetime as dt

from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import AS_OF, rows
from tests.transform.staging_rows import FULL_KEY_SCOPES, Staging
from tests.transform.test_unknown_never_zero import _build_green, _remove_tenants

KEYLESS = "t10-juniper-keyless"
KEY_STREAMS = ("api_keys", "api_key_scopes")


def _add_keyless_tenant(target, now: dt.datetime) -> None:
    """A Free tenant read today, except its API keys: last read ten days ago."""
    extra = Staging(now=now)
    t, earlier = KEYLESS, now - dt.timedelta(days=10)
    extra.tenants.append((t, "Juniper Keyless"))
    extra.add("user_account", t, {"type": "free", "reputation": 100})
    for key_id, name, scopes in (("j1", "Full access", FULL_KEY_SCOPES),
                                 ("j2", "Production mail", ["mail.send"])):  # fmt: skip
        extra.add("api_keys", t, {"api_key_id": key_id, "name": name}, key_id,
                  first_seen_at=earlier, last_seen_at=earlier)  # fmt: skip
        extra.add("api_key_scopes", t, {"api_key_id": key_id, "scopes": scopes}, key_id,
                  first_seen_at=earlier, last_seen_at=earlier)  # fmt: skip
    extra.statuses.append((t, "user_account", "ok"))
    extra.syncs.append((t, "user_account", now))
    for stream in KEY_STREAMS:
        extra.statuses.append((t, stream, "missing_scope"))
        extra.syncs.append((t, stream, earlier))  # the earlier key's read
    extra.health.append({"tenant_id": t, "display_name": "Juniper Keyless", "status": "degraded",
                         "status_since": earlier, "last_error": None, "last_success_at": now,
                         "missing_scopes": ["api_keys.read"]})  # fmt: skip
    extra.write(target)


def test_the_key_list_names_no_key_of_an_unreadable_stream(built) -> None:
    target, _, _, _, work, staging = built
    _add_keyless_tenant(target, staging.now)
    try:
        _build_green(target, work)
        (summary,) = [r for r in rows(target, "rpt_sendgrid_api_key_summary")
                      if r["tenant_id"] == KEYLESS]  # fmt: skip
        assert (summary["active_keys"], summary["full_access_keys"]) == (None, None)
        flagged = rows(target, "rpt_sendgrid_api_keys_flagged")
        # before: "Full access" listed as a full-access key of the tenant beside "not readable"
        assert [r["api_key_name"] for r in flagged if r["tenant_id"] == KEYLESS] == []
        # the dim keeps what was read (a security history), the report does not name it
        dim = [r for r in rows(target, "dim_sendgrid_api_keys") if r["tenant_id"] == KEYLESS]
        assert {r["api_key_id"]: r["has_full_access"] for r in dim} == {"j1": True, "j2": False}
        # a readable tenant's keys are still named
        assert any(r["tenant_id"] == "t01-acme-retail" and r["list_kind"] == "full_access"
                   for r in flagged)  # fmt: skip
    finally:
        _remove_tenants(target, [KEYLESS], KEY_STREAMS)
        run_dbt(target, work, "run", *as_of_vars(AS_OF))
