"""Run dbt and report each finished node on a separate pipe (``python -m sendgrid_elt.dbt_invoke``).

    python -m sendgrid_elt.dbt_invoke <fd> build --select ...

dbt runs in this process through its programmatic runner (``dbtRunner``) with its usual text
log on stdout. A callback writes one JSON line per ``NodeFinished`` event to file descriptor
``<fd>``: ``[unique_id, status, seconds, message]``. This costs nothing measurable, unlike
``--log-format json --log-level debug`` on stdout, which made the same build twice as slow
(dbt serializes every debug event). Exit codes are dbt's: 0 success, 1 some node failed,
2 dbt failed as a whole.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def main(argv: list[str]) -> int:
    """Invoke dbt with ``argv[1:]``, reporting nodes on file descriptor ``argv[0]``."""
    from dbt.cli.main import dbtRunner

    out = os.fdopen(int(argv[0]), "w", buffering=1)
    lock = threading.Lock()

    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node, result = event.data.node_info, event.data.run_result
        status = result.status or node.node_status
        message = None if status in ("success", "pass") else (result.message or None)
        line = json.dumps([node.unique_id, status, round(result.execution_time, 3), message])
        with lock:
            out.write(line + "\n")

    try:
        result = dbtRunner(callbacks=[on_event]).invoke(argv[1:])
    finally:
        out.close()
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
