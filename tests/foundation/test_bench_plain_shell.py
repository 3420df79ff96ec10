"""A documented bench from a plain shell on a machine without a PostgreSQL server configured:
it starts the embedded server itself (``bench/postgres.py``) and prints its ratios."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from sendgrid_elt.settings import PROJECT_ROOT


def test_loader_gap_bench_runs_on_the_embedded_server(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "SENDGRID_LOCAL_DIR": str(tmp_path),  # no TEST_POSTGRES_URL, no PG* variables
    }
    out = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-m", "bench.bench_loader_gap",
         "--rows", "2000", "--repeat", "1"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"the embedded server in {tmp_path / 'bench' / 'postgres'}" in out.stdout
    assert "# bench_loader_gap: 2,000 bounces rows, median of 1 runs" in out.stdout
    loader = re.search(r"the loader \(first load\)\s+([\d,]+) rows/s\s+(\d+)% of the bare COPY",
                       out.stdout)  # fmt: skip
    assert loader, out.stdout
    assert int(loader.group(1).replace(",", "")) > 0
    assert int(loader.group(2)) > 0
