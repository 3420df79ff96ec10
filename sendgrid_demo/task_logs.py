"""Task logs of the demo's runs, written where the Airflow UI reads them.

``dag.test()`` runs each task in this process and writes no task log file, so the UI of
``make airflow`` would say "Log file not found" for every demo task. :class:`TaskLogFiles` is an
Airflow listener: when a task starts it opens the file that Airflow's ``FileTaskHandler`` reads
for that try (``[logging] base_log_folder`` / ``log_filename_template``), and until the task
ends it writes every log record at INFO and above there, one JSON object per line (the format of
Airflow's own task logs: ``timestamp``, ``level``, ``logger``, ``event``), with the secrets
Airflow masks in its own task logs replaced by ``***``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow.listeners import hookimpl


def log_path(task_instance: Any) -> Path:
    """The file Airflow's UI reads for this try of ``task_instance``.

    Args:
        task_instance: A running task instance (``dag_id``, ``run_id``, ``task_id``,
            ``map_index``, ``try_number``).

    Returns:
        ``[logging] base_log_folder`` joined with the rendered ``log_filename_template``.
    """
    import jinja2
    from airflow.configuration import conf

    template = conf.get("logging", "log_filename_template")
    relative = jinja2.Template(template).render(
        ti=task_instance, try_number=task_instance.try_number
    )
    return Path(conf.get("logging", "base_log_folder")) / relative


class _JsonLines(logging.Handler):
    """Write records as Airflow's JSON task-log lines."""

    def __init__(self, path: Path) -> None:
        super().__init__(level=logging.INFO)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = path.open("a", encoding="utf-8")

    def emit(self, record: logging.LogRecord) -> None:
        from airflow.sdk._shared.secrets_masker import redact  # what Airflow's task logs apply

        try:
            line = {
                "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
                "level": record.levelname.lower(),
                "logger": record.name,
                "event": record.getMessage(),
            }
            if record.exc_info:
                line["event"] += "\n" + logging.Formatter().formatException(record.exc_info)
            line["event"] = redact(line["event"])  # secrets Airflow knows of become ***
            self.stream.write(json.dumps(line) + "\n")
            self.stream.flush()
        except Exception:  # a log line must never fail the task
            self.handleError(record)

    def close(self) -> None:
        self.stream.close()
        super().close()


class TaskLogFiles:
    """Airflow listener writing each task's log to its file while ``dag.test()`` runs it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handler: _JsonLines | None = None
        self.paths: list[Path] = []

    def _open(self, task_instance: Any) -> None:
        self._close()
        path = log_path(task_instance)
        handler = _JsonLines(path)
        with self._lock:
            self._handler = handler
            self.paths.append(path)
        logging.getLogger().addHandler(handler)

    def _close(self, note: str | None = None) -> None:
        with self._lock:
            handler, self._handler = self._handler, None
        if handler is None:
            return
        if note:
            record = {"name": __name__, "msg": note, "levelname": "INFO", "levelno": logging.INFO}
            handler.emit(logging.makeLogRecord(record))
        logging.getLogger().removeHandler(handler)
        handler.close()

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        """Open the task's log file."""
        self._open(task_instance)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        """Close it after a success."""
        self._close("Task instance in success state")

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        """Close it after a skip."""
        self._close("Task instance skipped")

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        """Close it after a failure, with the error as the last line."""
        self._close(f"Task failed: {error}" if error else "Task failed")


@contextmanager
def task_log_files() -> Iterator[TaskLogFiles]:
    """Register a :class:`TaskLogFiles` listener for the duration of the block."""
    from airflow.sdk.listener import get_listener_manager

    manager = get_listener_manager()
    listener = TaskLogFiles()
    manager.add_listener(listener)
    try:
        yield listener
    finally:
        listener._close()
        manager.pm.unregister(listener)
