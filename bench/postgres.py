"""The PostgreSQL server a bench runs on.

``--pg-url`` (or ``TEST_POSTGRES_URL``) names a server; without either, the bench starts the
embedded one (the ``pgserver`` wheel, as ``make test`` does) with its data in
:data:`EMBEDDED_DIR` and stops it at the end. So every bench runs on a fresh machine with only
Python and ``make``. Each bench creates its own databases on the server and drops them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sendgrid_elt.settings import LOCAL_DIR

if TYPE_CHECKING:
    from sendgrid_elt.postgres_target import PostgresTarget

#: Data folder of the embedded server the benches start when no server is named.
EMBEDDED_DIR = LOCAL_DIR / "bench" / "postgres"


def add_pg_url(parser: argparse.ArgumentParser) -> None:
    """Add ``--pg-url`` to a bench's arguments."""
    parser.add_argument(
        "--pg-url",
        default=None,
        help="admin URL of the PostgreSQL server to create the bench databases on (default: "
        f"TEST_POSTGRES_URL, else the embedded server in {EMBEDDED_DIR})",
    )


@contextlib.contextmanager
def bench_server(url: str | None = None) -> Iterator[PostgresTarget]:
    """The server named by ``url`` or ``TEST_POSTGRES_URL``, else the embedded one (started)."""
    from sendgrid_elt.embedded_postgres import named_or_embedded

    url = url or os.environ.get("TEST_POSTGRES_URL")
    if not url:
        print(f"# PostgreSQL: the embedded server in {EMBEDDED_DIR} (--pg-url names another)",
              flush=True)  # fmt: skip
    with named_or_embedded(url, EMBEDDED_DIR) as server:
        yield server
