"""What a transform task reports, decided from dbt's node results (pure functions, no Airflow).

The ``dbt_build`` task publishes, as XCom ``dbt_results``, the result of every node as soon as
dbt finishes it: ``{"attempt": <its try number>, "done": <dbt exited>, "nodes": {unique_id:
[status, seconds, message]}}``. Each model task turns the results of its nodes (the model, its
unit tests and single-parent data tests) into a task state with :func:`outcome`, and
:func:`decide` tells it whether to report that build, wait for it, or rebuild its nodes because
the task was cleared after the build.

Each run keeps dbt's own ``run_results.json`` and ``dbt.log`` in :func:`run_dir`
(``sendgrid_elt.settings.dbt_runs_dir()``);
:func:`slowest_models` reads it back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sendgrid_hook.display import plural

#: XCom key of the published node results.
RESULTS_KEY = "dbt_results"
SUCCESS = frozenset({"success", "pass", "warn"})
FAILED = frozenset({"error", "fail", "runtime error"})
#: Airflow states after which the ``dbt_build`` task will publish nothing more.
PRODUCER_FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})

Decision = Literal["wait", "report", "rebuild", "skip"]


@dataclass(frozen=True)
class Outcome:
    """The state a task ends in and the line its log shows."""

    state: Literal["success", "failed", "skipped"]
    text: str


def node_label(unique_id: str) -> str:
    """``model.pkg.stg_x`` → ``model stg_x`` (unit and data tests keep their name)."""
    parts = unique_id.split(".")
    kind = parts[0].replace("_", " ")
    name = parts[-1] if parts[0] == "unit_test" else parts[2] if len(parts) > 2 else unique_id
    return f"{kind} {name}"


def decide(try_number: int, producer_state: str | None, results: dict | None) -> Decision:
    """What a model task does now.

    A task reports the build whose attempt is at least its own try number: on the first run
    both are 1, and clearing ``dbt_build`` with its downstream tasks raises both. A task cleared
    alone after the build (its try number is now higher) rebuilds its own nodes.

    Args:
        try_number: The model task's try number.
        producer_state: The ``dbt_build`` task's state (``None`` before it is scheduled).
        results: Its latest ``dbt_results`` XCom, if any.

    Returns:
        ``report``, ``wait`` (the build has not published this attempt yet), ``rebuild`` or
        ``skip`` (the build failed before publishing anything).
    """
    if results is not None and int(results.get("attempt", 0)) >= try_number:
        return "report"
    if producer_state not in PRODUCER_FINISHED:
        return "wait"
    if results is None:
        return "skip"
    return "rebuild"


def outcome(
    node_ids: list[str] | tuple[str, ...], results: dict, build_finished: bool
) -> Outcome | None:
    """The task state from its nodes' results; ``None`` while dbt may still report some.

    Args:
        node_ids: The task's node (first) and its tests.
        results: The published ``dbt_results``.
        build_finished: dbt has exited (or the ``dbt_build`` task has ended).

    Returns:
        ``failed`` if any node failed (with dbt's messages), ``skipped`` when dbt skipped the
        node (an upstream node failed) or never reached it, ``success`` once every node passed.
    """
    nodes: dict[str, list[Any]] = results.get("nodes", {})
    main, *_ = node_ids
    failed = [(uid, nodes[uid]) for uid in node_ids if uid in nodes and nodes[uid][0] in FAILED]
    if failed:
        lines = [f"{node_label(uid)}: {r[0]}: {r[2] or 'no message'}" for uid, r in failed]
        return Outcome("failed", "dbt reported a failure:\n" + "\n".join(lines))
    main_result = nodes.get(main)
    if main_result is not None and main_result[0] == "skipped":
        return Outcome("skipped", f"dbt skipped {node_label(main)}: an upstream node failed")
    pending = [uid for uid in node_ids if uid not in nodes]
    if pending and not (build_finished or results.get("done")):
        return None
    if main_result is None:
        return Outcome("skipped", f"{node_label(main)} was not built by this dbt run")
    seconds = sum(float(nodes[uid][1] or 0) for uid in node_ids if uid in nodes)
    passed = sum(1 for uid in node_ids[1:] if uid in nodes and nodes[uid][0] in SUCCESS)
    text = (
        f"{node_label(main)}: {main_result[0]} in {seconds:.2f}s (with its tests), "
        f"{passed} of {len(node_ids) - 1} {plural('test', len(node_ids) - 1)} passed"
    )
    return Outcome("success", text)


def run_dir(run_id: str) -> Path:
    """The folder of one Airflow run's dbt artifacts (``run_results.json``, ``dbt.log``)."""
    from sendgrid_elt.settings import dbt_runs_dir

    name = re.sub(r"[^A-Za-z0-9._+-]", "_", run_id)
    if not name.strip("."):  # "", "." or "..": never the runs folder itself or its parent
        name = "_" * max(1, len(name))
    return dbt_runs_dir() / name


def slowest_models(run_results: Path, count: int = 3) -> list[tuple[str, float]]:
    """The ``count`` slowest models of a dbt run, as ``(name, seconds)``, slowest first.

    Args:
        run_results: A ``run_results.json``, or the run folder holding it.
        count: How many to return.

    Returns:
        Model names and execution times; empty if the file does not exist.
    """
    path = Path(run_results)
    if path.is_dir():
        path = path / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text())["results"]
    models = [
        (r["unique_id"].split(".")[-1], float(r.get("execution_time") or 0))
        for r in results
        if r["unique_id"].startswith("model.")
    ]
    return sorted(models, key=lambda m: -m[1])[:count]
