"""Connect / Reconnect page for SendGrid tenants, served by the Airflow API server (plugin).

:func:`create_app` builds the FastAPI sub-application that ``plugins/sendgrid_connect`` mounts
at ``/sendgrid``; see :mod:`.app` for the endpoints and their protection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app() -> FastAPI:
    """The FastAPI app of the Connect page."""
    from sendgrid_connect.app import create_app as _create

    return _create()
