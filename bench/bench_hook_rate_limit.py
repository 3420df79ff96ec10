"""Throughput of the SendGrid hook against a simulator limit of N requests per second.

Usage: ``.venv/bin/python bench/bench_hook_rate_limit.py [N] [SECONDS]`` (defaults 50 and 6;
``--help``). Prints the
sustained request rate as a share of N and the number of 429 answers (goal: >= 90 % of N and
at most one 429 per window).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main(limit: int = 50, seconds: float = 6.0) -> dict[str, float]:
    """Run the benchmark and return its figures."""
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-hook-"))
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    from sendgrid_simulator.testing import run_simulator

    with run_simulator(seed=42, scale="tiny", rate_limit=f"default={limit}/1s") as sim:
        key = sim.tenant(0)["api_keys"]["full"]
        os.environ["AIRFLOW_CONN_SG_BENCH"] = json.dumps(
            {"conn_type": "sendgrid", "host": sim.base_url, "password": key}
        )
        hook = SendGridHook(sendgrid_conn_id="sg_bench")
        hook.get_json("/v3/user/account")  # warm up: connection pool, limiter state
        while time.time() % 1 > 0.05:  # start at a window boundary
            time.sleep(0.005)
        start, sent = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            hook.get_json("/v3/user/account")
            sent += 1
        elapsed = time.monotonic() - start
        server = sim.control.request_counts()["by_status"]
    rate = sent / elapsed
    figures = {
        "limit_per_s": limit,
        "requests": sent,
        "seconds": round(elapsed, 2),
        "rate_per_s": round(rate, 1),
        "share_of_limit_pct": round(100 * rate / limit, 1),
        "http_429": int(server.get("429", 0)),
        "limiter_waits": hook.transport.limiter.waits,
    }
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("limit", nargs="?", type=int, default=50, help="simulator limit per s")
    parser.add_argument("seconds", nargs="?", type=float, default=6.0, help="how long to send")
    args = parser.parse_args()
    print(json.dumps(main(args.limit, args.seconds)))
