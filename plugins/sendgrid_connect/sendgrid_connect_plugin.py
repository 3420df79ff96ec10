"""Airflow plugin: the SendGrid Connect / Reconnect page (``/sendgrid/connections``).

Thin registration only; the app lives in :mod:`sendgrid_connect` (importable, tested).
The nav entry opens the page inside the Airflow UI; reconnect alerts link to the same page.
The root middleware lets Admin -> Connections -> Test reuse a ``sendgrid`` connection's stored
key (see :mod:`sendgrid_connect.connection_test`).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from sendgrid_hook.constants import CONNECT_APP_PREFIX, CONNECT_PAGE_PATH

from sendgrid_connect import create_app
from sendgrid_connect.connection_test import SendGridConnectionTestMiddleware


class SendGridConnectPlugin(AirflowPlugin):
    """Mounts the Connect page app, adds it to the Admin menu, fixes the form's Test button."""

    name = "sendgrid_connect"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": CONNECT_APP_PREFIX, "name": "SendGrid connections"},
    ]
    fastapi_root_middlewares = [
        {"middleware": SendGridConnectionTestMiddleware, "name": "SendGrid connection test"},
    ]
    external_views = [
        {
            "name": "SendGrid connections",
            "href": CONNECT_PAGE_PATH,
            "url_route": "sendgrid_connections",
            "destination": "nav",
            "category": "admin",
        },
    ]
