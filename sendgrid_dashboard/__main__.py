"""``python -m sendgrid_dashboard [--conninfo URL] [--output FILE]``: write the dashboard.

Without ``--conninfo`` the warehouse is resolved as the pipeline does (the ``sendgrid_warehouse``
connection, else the embedded PostgreSQL). ``--connect-base-url`` is the Airflow UI's address
for reconnect links (default: from the environment). Prints the file's path.
"""

from __future__ import annotations

import argparse
import sys

from sendgrid_dashboard import DEFAULT_OUTPUT, write_dashboard


def main(argv: list[str] | None = None) -> int:
    """Write the dashboard; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sendgrid_dashboard")
    parser.add_argument("--conninfo", help="libpq URL or conninfo of the warehouse")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="HTML file to write")
    parser.add_argument(
        "--connect-base-url", help="base URL of the Airflow UI, for the reconnect links"
    )
    args = parser.parse_args(argv)
    conninfo = args.conninfo
    if not conninfo:
        from sendgrid_elt.warehouse import resolve_warehouse

        conninfo = resolve_warehouse(announce=False).target.conninfo()
    import psycopg

    try:
        path = write_dashboard(conninfo, args.output, connect_base_url=args.connect_base_url)
    except psycopg.errors.UndefinedTable as exc:
        missing = exc.diag.message_primary
        print(f"dashboard: the warehouse has no marts yet ({missing}): run `make demo` (or "
              "the pipeline's extract and transform) first", file=sys.stderr)  # fmt: skip
        return 2
    print(f"dashboard: {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
