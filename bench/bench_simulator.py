"""Benchmark: suppression records per second the simulator serves (500-row pages).

Starts ``python -m sendgrid_simulator serve`` in a subprocess (one uvicorn worker, one core),
then reads bounce pages over one keep-alive HTTP connection and prints records/s.

Usage: ``python bench/bench_simulator.py [--seconds 5] [--scale large] [--page 500]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/__sim/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("simulator did not start")


def run(seconds: float, scale: str, page: int) -> float:
    """Serve pages for ``seconds``; return records per second."""
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sendgrid_simulator",
            "serve",
            "--port",
            str(port),
            "--scale",
            scale,
            "--seed",
            "42",
            "--clock",
            "2026-11-28",
            "--rate-limit",
            "off",
        ],
        cwd=ROOT,
    )
    try:
        _wait(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/__sim/accounts")
        key = json.loads(conn.getresponse().read())["tenants"][0]["api_keys"]["full"]
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        records = requests = 0
        offset = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            conn.request(
                "GET", f"/v3/suppression/bounces?limit={page}&offset={offset}", headers=headers
            )
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
            n = body.count(b'"created":')
            if n == 0:
                offset = 0
                continue
            records += n
            requests += 1
            offset += page
        elapsed = time.perf_counter() - start
        rate = records / elapsed
        print(
            f"scale={scale} page={page} requests={requests} records={records} "
            f"elapsed={elapsed:.2f}s -> {rate:,.0f} records/s "
            f"({requests / elapsed:,.0f} pages/s)"
        )
        return rate
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--scale", default="large", choices=("tiny", "demo", "large"))
    parser.add_argument("--page", type=int, default=500)
    args = parser.parse_args()
    run(args.seconds, args.scale, args.page)


if __name__ == "__main__":
    main()
