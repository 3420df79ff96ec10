"""Airflow plugin: the SendGrid Connect / Reconnect page (``/sendgrid/connections``).

Thin registration only; the app lives in :mod:`sendgrid_connect` (importable, tested).
The Admin menu entry opens the page in its own browser tab, and reconnect alerts link to the same
page. It is not embedded (no ``url_route``): the Airflow UI frames plugin views in an iframe
sandboxed without top-level navigation or pop-ups, which blocks the OAuth sign-in redirect and
the Connect form's submission.
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
            "href": CONNECT_PAGE_PATH,  # no url_route: a link to its own tab (see above)
            "destination": "nav",
            "category": "admin",
        },
    ]
