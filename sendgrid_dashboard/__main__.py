"""``python -m sendgrid_dashboard [--conninfo URL] [--output FILE]``: write the dashboard.

Without ``--conninfo`` the warehouse is resolved as the pipeline does (the ``sendgrid_warehouse``
connection, else the embedded PostgreSQL). ``--connect-base-url`` is the Airflow UI's address
for reconnect links (default: from the environment); one that is not http(s) is refused (exit
status 2). Prints the file's path.
"""

from __future__ import annotations

import argparse
import sys

from sendgrid_dashboard import DEFAULT_OUTPUT, write_dashboard
from sendgrid_dashboard.render import resolve_base_url


def main(argv: list[str] | None = None) -> int:
    """Write the dashboard; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sendgrid_dashboard")
    parser.add_argument("--conninfo", help="libpq URL or conninfo of the warehouse")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="HTML file to write")
    parser.add_argument(
        "--connect-base-url", help="base URL of the Airflow UI, for the reconnect links"
    )
    args = parser.parse_args(argv)
    try:
        base_url = resolve_base_url(args.connect_base_url)
    except ValueError as exc:  # before the warehouse is resolved: nothing read in vain
        print(f"dashboard: {exc}", file=sys.stderr)
        return 2
    conninfo = args.conninfo
    if not conninfo:
        from sendgrid_elt.warehouse import resolve_warehouse

        conninfo = resolve_warehouse(announce=False).target.conninfo()
    from sendgrid_dashboard.queries import MissingModelsError
    from sendgrid_elt.settings import MARTS_SCHEMA

    try:
        path = write_dashboard(conninfo, args.output, connect_base_url=base_url)
    except MissingModelsError as exc:
        if exc.none_built:
            print(f"dashboard: the warehouse has no marts yet (no {MARTS_SCHEMA}.rpt_sendgrid_* "
                  "model): run `make demo` (or the pipeline's extract and transform) first",
                  file=sys.stderr)  # fmt: skip
        else:
            names = ", ".join(f"{MARTS_SCHEMA}.{m}" for m in exc.models)
            print(f"dashboard: the warehouse lacks {len(exc.models)} of the reporting models "
                  f"({names}); the others are there: run the transform (dbt build) to build "
                  "them", file=sys.stderr)  # fmt: skip
        return 2
    print(f"dashboard: {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
