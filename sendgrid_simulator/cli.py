"""Command line: ``python -m sendgrid_simulator {serve,accounts,truth}``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from sendgrid_hook.constants import SIMULATOR_PORT

from .faults import FaultConfig
from .ratelimit import RateLimitConfig
from .tenants import SCALES


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m sendgrid_simulator", description="Local Twilio SendGrid v3 API simulator."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seed", type=int, default=42, help="dataset seed (default 42)")
        p.add_argument("--scale", choices=SCALES, default="tiny", help="dataset size")
        p.add_argument(
            "--clock",
            type=_date,
            default=None,
            help="simulated start date YYYY-MM-DD (default: today, UTC)",
        )

    serve = sub.add_parser("serve", help="serve the API with uvicorn")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=SIMULATOR_PORT)
    serve.add_argument(
        "--rate-limit", default=None, help='e.g. "default=20/1s,/v3/messages=6/60s" or "off"'
    )
    serve.add_argument(
        "--faults",
        default=None,
        help='e.g. "500=0.05,502=0.01,429=0.02,slow=0.01,drop=0.01,truncate=0.02"',
    )
    serve.add_argument("--log-level", default="warning")
    common(sub.add_parser("accounts", help="print tenants, API keys and OAuth clients (JSON)"))
    common(sub.add_parser("truth", help="print the ground truth (JSON)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    from .world import World

    if args.command in ("accounts", "truth"):
        from .truth import build_accounts, build_truth

        world = World(args.seed, args.scale, args.clock)
        doc = build_accounts(world) if args.command == "accounts" else build_truth(world)
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    import uvicorn

    from .app import create_app
    from .testing import server_config

    rate = RateLimitConfig.parse(args.rate_limit) if args.rate_limit is not None else None
    faults = FaultConfig.parse(args.faults) if args.faults else None
    app = create_app(args.seed, args.scale, args.clock, rate, faults)
    print(
        f"sendgrid-simulator: seed={args.seed} scale={args.scale} "
        f"clock={app.world.clock} on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.Server(server_config(app, args.host, args.port, args.log_level)).run()
    return 0
