"""Scopes a credential needs come from the stream catalog, once, and the README shows them."""

from __future__ import annotations

import re

from sendgrid_hook.scopes import scope_requirements as provider_requirements

from sendgrid_elt import catalog, stream_scopes
from sendgrid_elt.settings import PROJECT_ROOT


def test_readme_scope_list_is_the_catalogs() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"<!-- scopes:[^\n]*-->\n(.*?)<!-- /scopes -->", readme, re.S)
    assert block is not None, "README lost its generated scope block"
    assert block.group(1) == stream_scopes.scopes_markdown(), (
        "run: .venv/bin/python -m sendgrid_elt.stream_scopes"
    )


def test_provider_asks_the_catalog_through_its_entry_point() -> None:
    needs = provider_requirements()
    assert needs == stream_scopes.scope_requirements()
    every_scope = {s.scope for s in catalog.STREAMS if s.scope}
    assert set(needs.required) | set(needs.optional) == every_scope
    assert not set(needs.required) & set(needs.optional)
    # what a missing scope costs is named stream by stream
    assert needs.disables["stats.read"] == ("global_stats",)


def test_feature_streams_are_not_licensed_and_the_others_missing() -> None:
    granted = frozenset({"user.account.read"})
    assert stream_scopes.scope_status(catalog.get("user_account"), granted) is None
    assert stream_scopes.scope_status(catalog.get("bounces"), granted)[0] == "missing_scope"
    # a key with every required scope lacks a feature scope because the plan lacks the feature
    every_required = frozenset(stream_scopes.scope_requirements().required)
    assert (
        stream_scopes.scope_status(catalog.get("singlesends"), every_required)[0] == "not_licensed"
    )
    # ... but not the Email Validation scope: no Full Access key carries it, whatever the plan
    status, detail = stream_scopes.scope_status(catalog.get("validation_jobs"), every_required)
    assert status == "missing_scope"
    assert "Full Access key never carries it" in detail
    # a restricted key (a required scope missing too) says nothing about the plan: unknown
    status, detail = stream_scopes.scope_status(catalog.get("singlesends"), granted)
    assert status == "missing_scope"
    assert "the plan may include" in detail
    report = stream_scopes.scope_report(granted, ["user_account", "bounces", "singlesends"])
    assert report.runnable == ("user_account",)
    assert report.skipped == {"bounces": ("suppression.bounces.read",)}
