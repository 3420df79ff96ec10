"""Task bodies of the ``sendgrid_transform`` DAG: dbt runs here, never while a DAG is parsed.

* :func:`build_project` (task ``dbt_build``): one ``dbt build`` of the whole project with dbt's
  threads (:mod:`sendgrid_elt.dbt_invoke`): every node's result is published as XCom
  ``dbt_results`` while dbt still runs, dbt's log goes to the task log, and dbt's
  ``run_results.json`` and ``dbt.log`` are kept in the run's folder
  (:func:`sendgrid_elt.dbt_results.run_dir`).
* :func:`run_node` (a model task under ``dag.test()``) and :func:`rebuild_node` (a model task
  cleared after the build: ``dbt build --select <node>``).

dbt reads ``dbt_project/profiles.yml``; its ``SENDGRID_WAREHOUSE_*`` variables are filled from
the ``sendgrid_warehouse`` connection (the password only ever travels in the environment of
the dbt process). The run's as-of instant comes from the triggering ``sendgrid_staging`` asset
event (extra ``as_of``) and is passed as the dbt var ``sendgrid_as_of``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sendgrid_elt.dbt_graph import TASK_RESOURCE_TYPES
from sendgrid_elt.dbt_results import (
    PRODUCER_FINISHED,
    RESULTS_KEY,
    decide,
    outcome,
    run_dir,
    slowest_models,
)
from sendgrid_elt.settings import AS_OF_EXTRA, AS_OF_VAR, DBT_THREADS, WAREHOUSE_ENV
from sendgrid_elt.settings import dbt_vars as name_vars

log = logging.getLogger(__name__)
_TESTS = ("test", "unit_test")  # shown by their model's task

#: Minimum seconds between two publications of the node results.
PUBLISH_SECONDS = 1.0
_running: list[subprocess.Popen] = []

NodeResults = dict[str, list[Any]]


def dbt_vars(context: Any) -> dict[str, str]:
    """The dbt vars of this run: names and ``sendgrid_as_of``.

    The as-of is the asset event's (or the newest published one when later). A run with no
    event's as-of (triggered by hand) is pinned to the newest published as-of when the build
    starts: without the var, each model would read the newest one itself as dbt reaches it,
    and an extract run publishing during the build would leave the marts of one run at two
    instants.
    """
    from sendgrid_elt.assets import STAGING_ASSET

    out = name_vars()
    try:
        events = context["triggering_asset_events"][STAGING_ASSET]
    except (KeyError, TypeError):
        events = []
    as_of = [str(v) for e in events if (v := (e.extra or {}).get(AS_OF_EXTRA))]
    published = _published_as_of()
    if as_of:  # the newest instant, whichever event came last (the marts never go back)
        newest = max(as_of, key=_instant)
        if published is not None and published > _instant(newest):  # an older run, cleared
            log.info("this run's staging event is as of %s, but staging holds a newer run's "
                     "data: building as of %s", newest, published)  # fmt: skip
            newest = _iso(published)
        out[AS_OF_VAR] = newest
    elif published is not None:
        log.info("no staging event's as-of: building as of the newest published, %s", published)
        out[AS_OF_VAR] = _iso(published)
    return out


def _iso(instant: dt.datetime) -> str:
    """``2026-11-28T00:00:00Z``: an instant as the dbt var reads it."""
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _published_as_of() -> dt.datetime | None:
    """The newest as-of in the warehouse's ``extract_runs``; None when none was published.

    Raises:
        RuntimeError: The warehouse could not be read. Taken for "none published", a cleared
            older run built the marts as of its own older instant (the figures went back in
            time) and a run by hand went unpinned; so the task fails, and its retry reads again.
    """
    import psycopg

    from sendgrid_elt.sync_state import published_as_of
    from sendgrid_elt.warehouse import configured_target

    target = configured_target()
    if target is None:  # the build itself says what is missing (warehouse_env)
        return None
    try:
        with psycopg.connect(target.conninfo(), autocommit=True, connect_timeout=10) as conn:
            return published_as_of(conn)
    except psycopg.errors.UndefinedTable:  # no extract has run on this warehouse yet
        return None
    except psycopg.Error as exc:
        raise RuntimeError(
            f"could not read the newest published as-of from the warehouse "
            f"({type(exc).__name__}): building without it could take the marts back to an "
            "older instant; the task's retry reads it again"
        ) from None


def _instant(value: str) -> dt.datetime:
    """An ISO-8601 instant; one without a zone is UTC (as the dbt macro reads it)."""
    instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def warehouse_env() -> dict[str, str]:
    """Environment of the dbt process: ``profiles.yml``'s warehouse variables, no telemetry.

    Raises:
        WarehouseNotConfigured: No ``sendgrid_warehouse`` connection (a task never starts the
            embedded PostgreSQL; the local entry points configure it before they run a DAG).
    """
    from sendgrid_elt.warehouse import require_target

    target = require_target()
    return {
        **{WAREHOUSE_ENV[k]: str(getattr(target, k)) for k in WAREHOUSE_ENV},
        "SENDGRID_DBT_THREADS": str(DBT_THREADS),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        **target.libpq_env(),  # TLS settings of the connection's extra (libpq reads PGSSLMODE...)
    }


def dbt_command(project_dir: Path, out_dir: Path, target_dir: Path, *args: str,
                variables: dict[str, str] | None = None) -> list[str]:  # fmt: skip
    """``dbt build`` arguments.

    dbt's text log goes to stdout and ``out_dir/dbt.log``, its artifacts to ``target_dir``.
    """
    cmd = ["build", *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
           "--target-path", str(target_dir), "--log-path", str(out_dir),
           "--threads", str(DBT_THREADS), "--no-use-colors"]  # fmt: skip
    if variables:
        cmd += ["--vars", json.dumps(variables, sort_keys=True)]
    return cmd


def run_dbt(args: list[str], env: dict[str, str], on_node: Callable[[str, list[Any]], None],
            tick: Callable[[], None] = lambda: None) -> int:  # fmt: skip
    """Run ``dbt <args>`` (:mod:`sendgrid_elt.dbt_invoke`); return dbt's exit code.

    dbt's log lines go to this task's log; ``on_node(unique_id, [status, seconds, message])``
    is called as each node finishes, ``tick`` after each line and every :data:`PUBLISH_SECONDS`.
    """
    import os

    log.info("running: dbt %s", " ".join(args))
    read_fd, write_fd = os.pipe()
    cmd = [sys.executable, "-m", "sendgrid_elt.dbt_invoke", str(write_fd), *args]
    try:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, errors="replace", pass_fds=(write_fd,),
        )  # fmt: skip
    finally:
        os.close(write_fd)
    _running.append(proc)
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()

    def pump(kind: str, stream: Any) -> None:
        with stream:
            for raw in stream:
                lines.put((kind, raw))
        lines.put((kind, None))

    assert proc.stdout is not None
    threading.Thread(target=pump, args=("log", proc.stdout), daemon=True).start()
    nodes = open(read_fd, errors="replace")  # noqa: SIM115 - closed by its pump thread
    threading.Thread(target=pump, args=("node", nodes), daemon=True).start()
    try:
        open_streams = 2
        while open_streams:
            try:
                kind, line = lines.get(timeout=PUBLISH_SECONDS)
            except queue.Empty:
                tick()
                continue
            if line is None:
                open_streams -= 1
            elif kind == "node":
                unique_id, *result = json.loads(line)
                on_node(unique_id, result)
            elif line.strip():
                log.info("%s", line.rstrip())
            tick()
        return proc.wait()
    finally:
        _running.remove(proc)


def stop_dbt() -> None:
    """Terminate the dbt process of this task (``on_kill``)."""
    for proc in list(_running):
        proc.terminate()


class _Publisher:
    """Node results of one build, pushed as XCom at most every :data:`PUBLISH_SECONDS`."""

    def __init__(self, ti: Any, attempt: int, out_dir: Path) -> None:
        self.ti, self.nodes, self.dirty, self.last = ti, {}, True, 0.0
        self.head = {"attempt": attempt, "run_dir": str(out_dir)}
        self.lock = threading.Lock()

    def node(self, unique_id: str, result: list[Any]) -> None:
        with self.lock:
            self.nodes[unique_id] = result
            self.dirty = True

    def push(self, *, done: bool = False, force: bool = False) -> None:
        if not force and not (self.dirty and time.monotonic() - self.last >= PUBLISH_SECONDS):
            return
        with self.lock:
            value = {**self.head, "done": done, "nodes": dict(self.nodes)}
            self.dirty = False
        self.ti.xcom_push(key=RESULTS_KEY, value=value)
        self.last = time.monotonic()


def _covered(context: Any) -> set[str]:
    return {uid for task in context["dag"].tasks for uid in getattr(task, "node_ids", ())}


def migrate_staging() -> None:
    """Bring ``sendgrid_staging`` to this version's shape before dbt reads it (idempotent).

    After an upgrade the transform may run before the next extract (a manual trigger, a
    cleared run): the models read the columns this version adds, so the build runs the
    extract's migration first (:func:`sendgrid_elt.staging_schema.ensure_schema_url`); a
    warehouse no extract has reached yet builds empty marts.
    """
    from sendgrid_elt.staging_schema import ensure_schema_url
    from sendgrid_elt.warehouse import require_target

    ensure_schema_url(require_target().sqlalchemy_url())


def build_project(context: Any, project_dir: str | Path) -> dict[str, Any]:
    """Task ``dbt_build``: run ``dbt build`` once, publish node results as they come.

    Returns:
        A summary: the run folder, node counts, failed nodes, the three slowest models.

    Raises:
        AirflowException: dbt failed as a whole (exit code 2: project, profile or connection
            error), or a node no model task reports failed (e.g. an ``on-run-end`` hook).
    """
    from airflow.sdk.exceptions import AirflowException

    ti, project = context["ti"], Path(project_dir)
    out = run_dir(context["run_id"])
    out.mkdir(parents=True, exist_ok=True)
    publisher = _Publisher(ti, int(ti.try_number), out)
    publisher.push(force=True)  # the node tasks now know this attempt has started
    env = warehouse_env()
    migrate_staging()
    with tempfile.TemporaryDirectory(prefix="dbt-target-") as target:
        cmd = dbt_command(project, out, Path(target), variables=dbt_vars(context))
        code = run_dbt(cmd, env, publisher.node, publisher.push)
        results_file = Path(target) / "run_results.json"
        if results_file.exists():
            shutil.copy(results_file, out / "run_results.json")
    publisher.push(done=True, force=True)
    log.info("dbt artifacts of this run: %s (run_results.json, dbt.log)", out)
    slowest = slowest_models(out)
    for name, seconds in slowest:
        log.info("slowest model: %s %.1fs", name, seconds)
    covered = _covered(context)
    failed = sorted(uid for uid, r in publisher.nodes.items() if r[0] in ("error", "fail"))
    unreported = [uid for uid in failed if uid not in covered]
    stale = sorted(
        uid
        for uid in publisher.nodes
        if uid not in covered and uid.split(".")[0] in (*TASK_RESOURCE_TYPES, *_TESTS)
    )  # exposures and the like have no task by design
    if stale and covered:
        log.warning("dbt built nodes no task shows (is the manifest stale? `make manifest`): "
                    "%s", ", ".join(stale[:10]))  # fmt: skip
    if code not in (0, 1) or not (out / "run_results.json").exists():
        raise AirflowException(f"dbt build failed (exit code {code}); see the log above and {out}")
    if unreported:
        raise AirflowException(f"dbt nodes failed outside any model task: {unreported}")
    if failed:
        log.warning("dbt nodes failed (%d); their model tasks fail: %s", len(failed), failed)
    return {"run_dir": str(out), "nodes": len(publisher.nodes), "failed": failed,
            "slowest_models": slowest}  # fmt: skip


def _finish(task: Any, result: Any) -> str:
    """End a model task with the outcome (raises for failed and skipped)."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    if result.state == "failed":
        raise AirflowFailException(result.text)
    if result.state == "skipped":
        raise AirflowSkipException(result.text)
    log.info("%s", result.text)
    return result.text


def run_node(task: Any, context: Any) -> str:
    """A model task run on a worker (``dag.test()``): report the build, wait for it, or rebuild."""
    from airflow.sdk.exceptions import AirflowRescheduleException, AirflowSkipException

    ti = context["ti"]
    states = ti.get_task_states(
        dag_id=ti.dag_id, task_ids=[task.producer_task_id], run_ids=[ti.run_id]
    )
    state = states.get(ti.run_id, {}).get(task.producer_task_id)
    state = str(state) if state is not None else None
    results = ti.xcom_pull(task_ids=task.producer_task_id, key=RESULTS_KEY)
    decision = decide(int(ti.try_number), state, results)
    if decision == "report":
        result = outcome(task.node_ids, results, state in PRODUCER_FINISHED)
        if result is not None:
            return _finish(task, result)
    elif decision == "skip":
        raise AirflowSkipException(f"{task.producer_task_id} ended {state} with no dbt result")
    elif decision == "rebuild":
        return rebuild_node(task, context)
    retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    raise AirflowRescheduleException(retry_at)  # the build has not published this node yet


def rebuild_node(task: Any, context: Any) -> str:
    """Rebuild a cleared model task's nodes: ``dbt build --select <node>`` (tests included)."""
    from airflow.sdk.exceptions import AirflowException

    ti, project = context["ti"], Path(task.project_dir)
    out = run_dir(context["run_id"]) / f"rebuild-{ti.task_id}-try{ti.try_number}"
    out.mkdir(parents=True, exist_ok=True)
    nodes: NodeResults = {}
    with tempfile.TemporaryDirectory(prefix="dbt-target-") as target:
        cmd = dbt_command(project, out, Path(target), "--select", task.select,
                          variables=dbt_vars(context))  # fmt: skip
        code = run_dbt(cmd, warehouse_env(), nodes.__setitem__)
        if (Path(target) / "run_results.json").exists():
            shutil.copy(Path(target) / "run_results.json", out / "run_results.json")
    log.info("dbt artifacts of this rebuild: %s", out)
    result = outcome(task.node_ids, {"nodes": nodes, "done": True}, True)
    if code not in (0, 1) and (result is None or result.state == "success"):
        raise AirflowException(f"dbt build --select {task.select} failed (exit code {code})")
    return _finish(task, result)
