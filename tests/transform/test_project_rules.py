"""Rules of the dbt project that need no database: one as-of instant, one source per stream."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import yaml

from sendgrid_elt import catalog
from sendgrid_elt.settings import DBT_MANIFEST, DBT_PROJECT_DIR, DBT_SCHEMA, dbt_vars

#: The environment variable of the extract task's timeout (sendgrid_elt.settings).
TIMEOUT_ENV = "SENDGRID_EXTRACT_TIMEOUT_MINUTES"

WALL_CLOCK = re.compile(
    r"\b(current_date|current_time|current_timestamp|localtime|localtimestamp|now\s*\(|"
    r"clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|run_started_at)",
    re.IGNORECASE,
)


COMMENTS = re.compile(r"\{#.*?#\}|--[^\n]*", re.DOTALL)


def _code(path: Path) -> str:
    """The file without Jinja and SQL comments (which may name what they forbid)."""
    return COMMENTS.sub("", path.read_text())


def _sql_files() -> list[Path]:
    return sorted(
        p
        for folder in ("models", "macros", "tests")
        for p in (DBT_PROJECT_DIR / folder).rglob("*.sql")
    )


def test_no_model_or_macro_reads_the_wall_clock() -> None:
    """Every model measures time against the as-of instant (macro sendgrid_as_of)."""
    offenders = {
        str(p.relative_to(DBT_PROJECT_DIR)): WALL_CLOCK.findall(_code(p))
        for p in _sql_files()
        if WALL_CLOCK.search(_code(p))
    }
    assert offenders == {}
    uses = [p.name for p in _sql_files() if "sendgrid_as_of" in _code(p)]
    assert len(uses) >= 20  # the rule is not vacuous: models do use the as-of instant


def test_the_pattern_catches_a_wall_clock_call() -> None:
    assert WALL_CLOCK.search("where day < current_date")
    assert WALL_CLOCK.search("extract(epoch from NOW() - x)")
    assert not WALL_CLOCK.search("select {{ sendgrid_as_of() }} as as_of_at")


def test_every_catalog_stream_is_a_source_that_feeds_a_model() -> None:
    manifest = json.loads(DBT_MANIFEST.read_text())
    sources = {
        node["name"]: unique_id
        for unique_id, node in manifest["sources"].items()
        if node["source_name"] == "sendgrid"
    }
    streams = {spec.name for spec in catalog.STREAMS}
    assert streams <= set(sources), sorted(streams - set(sources))
    fed = {
        name: [c for c in manifest["child_map"][uid] if c.startswith("model.")]
        for name, uid in sources.items()
    }
    unused = sorted(name for name in streams if not fed[name])
    assert unused == []


def test_schema_names_come_from_the_pipeline_settings() -> None:
    """Sources and marts read their schema from vars; the defaults equal the Python names."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    defaults = project["vars"]
    for name, value in dbt_vars().items():
        assert defaults[name] == value, name
    sources = DBT_PROJECT_DIR / "models" / "staging" / "sendgrid" / "_sendgrid__sources.yml"
    assert "{{ var('sendgrid_staging_schema') }}" in sources.read_text()
    manifest = json.loads(DBT_MANIFEST.read_text())
    marts = {
        n["schema"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["name"].startswith(("fct_", "dim_", "rpt_"))
    }
    assert marts == {dbt_vars()["sendgrid_marts_schema"]}
    prefixes = {
        n["name"].split("_")[0]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["path"].startswith(("marts/", "reporting/"))
    }
    assert prefixes <= {"fct", "dim", "rpt"}
    # dbt's own working schema (intermediate and staging models are suffixed to it) is the
    # profile's literal; the Python name must say the same
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    assert profiles["sendgrid"]["outputs"]["dev"]["schema"] == DBT_SCHEMA


def _extract_timeout_minutes(environ: dict[str, str]) -> float:
    """``settings.EXTRACT_TASK_TIMEOUT`` in minutes, as a process with ``environ`` reads it."""
    code = "from sendgrid_elt.settings import EXTRACT_TASK_TIMEOUT as t; print(t.total_seconds())"
    proc = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                          text=True, check=True)  # fmt: skip
    return float(proc.stdout.strip()) / 60


def test_activity_reprocess_window_is_the_extract_timeout_and_a_margin() -> None:
    """The daily activity mart rereads the rows loaded within the extract task's
    ``execution_timeout`` (+ a margin) before its high-water mark: the dbt var's default
    follows the setting, its environment variable and its default (one number, two places)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    template = jinja2.Environment(autoescape=False).from_string(  # noqa: S701 (not HTML)
        str(project["vars"]["sendgrid_activity_reprocess_minutes"])
    )
    base = {k: v for k, v in os.environ.items() if k != TIMEOUT_ENV}
    for environ in (base, {**base, TIMEOUT_ENV: "600"}):
        rendered = template.render(
            env_var=lambda name, default=None, e=environ: e.get(name, default)
        )
        assert float(rendered) == _extract_timeout_minutes(environ) + 30, environ.get(TIMEOUT_ENV)


def test_every_per_tenant_report_says_whether_the_tenant_counts_in_totals() -> None:
    """A BI sum across tenants takes the rows where ``is_counted_in_totals``: every rpt_ model
    with a tenant per row carries it and ``is_removed`` (dim_sendgrid_tenants owns both)."""
    manifest = json.loads(DBT_MANIFEST.read_text())
    reports = {
        n["name"]: n["columns"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["name"].startswith("rpt_")
    }
    per_tenant = {name for name, columns in reports.items() if "tenant_id" in columns}
    assert len(per_tenant) >= 14  # the rule is not vacuous
    missing = {
        name: sorted({"is_counted_in_totals", "is_removed"} - set(reports[name]))
        for name in per_tenant
        if not {"is_counted_in_totals", "is_removed"} <= set(reports[name])
    }
    assert missing == {}
    for name in per_tenant:
        assert "is_counted_in_totals" in reports[name]["is_counted_in_totals"]["description"]
