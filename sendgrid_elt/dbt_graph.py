"""The dbt project as Airflow tasks, read from dbt's ``manifest.json`` (JSON only, no dbt import).

One task per model, seed and snapshot; it reports the node and the tests dbt attaches to it:
its unit tests and the data tests declared on it, including a ``relationships`` test that also
reads another model (the task then also depends on that model's task). A test with no model to
attach to (only sources), or whose attachment would close a cycle, gets a task of its own.
Task dependencies mirror dbt's.

The manifest is built ahead of time (``make manifest``, CI and the Docker image run
``dbt parse``), never while a DAG file is imported: reading it costs ~40 ms, parsing the
project with dbt several seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sendgrid_elt.settings import DBT_MANIFEST_COMMAND as MANIFEST_COMMAND
from sendgrid_elt.settings import PROJECT_DIR_ENV

#: Node types that become a task of their own.
TASK_RESOURCE_TYPES = ("seed", "model", "snapshot")


class ManifestMissingError(FileNotFoundError):
    """The dbt manifest has not been built (the message says how to build it)."""


@dataclass(frozen=True)
class NodeTask:
    """One Airflow task of the transform and the dbt nodes whose outcome it reports.

    Attributes:
        task_id: Airflow task id (``<group>.<name>``).
        unique_id: The dbt node the task stands for (model, seed, snapshot or test).
        select: dbt selector that rebuilds exactly this task's nodes.
        node_ids: Unique ids whose results decide the task's state (the node, then its tests).
        parents: Task ids of the tasks this one depends on (dbt's dependencies).
    """

    task_id: str
    unique_id: str
    select: str
    node_ids: tuple[str, ...]
    parents: tuple[str, ...] = ()


@dataclass
class DbtGraph:
    """The tasks of a dbt project, in dbt's dependency order."""

    project_dir: Path
    tasks: list[NodeTask] = field(default_factory=list)

    @property
    def covered_ids(self) -> set[str]:
        """Every node id some task reports."""
        return {node_id for task in self.tasks for node_id in task.node_ids}


def manifest_path(project_dir: Path) -> Path:
    """Where ``dbt parse`` writes the manifest of ``project_dir``."""
    return Path(project_dir) / "target" / "manifest.json"


def _deps(node: dict) -> list[str]:
    return node.get("depends_on", {}).get("nodes", [])


def _group(node: dict) -> str:
    if node["resource_type"] == "test":
        return "tests"
    if node["resource_type"] != "model":
        return node["resource_type"] + "s"
    folder = Path(node.get("original_file_path", "")).parts
    return folder[1] if len(folder) > 2 else "models"  # models/<folder>/...


def load_graph(project_dir: Path) -> DbtGraph:
    """Read the project's manifest and return its tasks.

    Args:
        project_dir: The dbt project (its manifest is ``target/manifest.json``).

    Returns:
        The graph: seeds, models and snapshots in dependency order, then unattached tests.

    Raises:
        ManifestMissingError: The manifest was never built.
    """
    path = manifest_path(project_dir)
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestMissingError(
            f"dbt manifest {path} is missing: build it with `{MANIFEST_COMMAND}` "
            "(runs `dbt parse`, no database needed) before Airflow parses the DAGs; where the "
            f"package is installed apart from the project, {PROJECT_DIR_ENV} names its folder"
        ) from None
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    owned = {uid for uid, n in nodes.items() if n["resource_type"] in TASK_RESOURCE_TYPES}
    task_ids = {uid: f"{_group(nodes[uid])}.{nodes[uid]['name']}" for uid in owned}
    parents = {uid: {p for p in _deps(nodes[uid]) if p in owned} for uid in owned}
    attached: dict[str, list[str]] = {uid: [] for uid in owned}
    own_tasks: list[tuple[str, list[str]]] = []
    for uid, node in sorted(nodes.items()):
        if node["resource_type"] not in ("test", "unit_test"):
            continue
        tested = sorted({p for p in _deps(node) if p in owned})
        home = node.get("attached_node") or (tested[0] if len(tested) == 1 else None)
        others = set(tested) - {home}
        if home in owned and not any(_depends_on(o, home, parents) for o in others):
            attached[home].append(uid)
            parents[home] |= others  # a relationships test reads the other model too
        else:  # no model to report it, or it would close a cycle: a task of its own
            own_tasks.append((uid, tested))
    graph = DbtGraph(project_dir=Path(project_dir))
    for uid in _dependency_order(parents):
        graph.tasks.append(
            NodeTask(
                task_id=task_ids[uid],
                unique_id=uid,
                select=nodes[uid]["name"],
                node_ids=(uid, *sorted(attached[uid])),
                parents=tuple(sorted(task_ids[p] for p in parents[uid])),
            )
        )
    for uid, tested in own_tasks:
        graph.tasks.append(
            NodeTask(
                task_id=f"tests.{nodes[uid]['name']}",
                unique_id=uid,
                select=nodes[uid]["name"],
                node_ids=(uid,),
                parents=tuple(task_ids[p] for p in tested),
            )
        )
    return graph


def _depends_on(uid: str, ancestor: str, parents: dict[str, set[str]]) -> bool:
    """Whether ``uid`` is ``ancestor`` or depends on it, directly or not."""
    stack, seen = [uid], set()
    while stack:
        current = stack.pop()
        if current == ancestor:
            return True
        if current not in seen:
            seen.add(current)
            stack.extend(parents.get(current, ()))
    return False


def _dependency_order(parents: dict[str, set[str]]) -> list[str]:
    """Node ids, each after its parents (ties by name, so the order is stable)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen:
            return
        seen.add(uid)
        for parent in sorted(parents[uid]):
            visit(parent)
        done.append(uid)

    for uid in sorted(parents):
        visit(uid)
    return done
