"""Airflow plugin: the SendGrid Connect / Reconnect page (``/sendgrid/connections``).

Thin registration only; the app lives in :mod:`sendgrid_elt.connect_page` (importable, tested).
The nav entry opens the page inside the Airflow UI; reconnect alerts link to the same page.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sendgrid_elt.connect_page import APP_PREFIX, create_app


class SendGridConnectPlugin(AirflowPlugin):
    """Mounts the Connect page app and adds "SendGrid connections" to the Admin menu."""

    name = "sendgrid_connect"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": APP_PREFIX, "name": "SendGrid connections"},
    ]
    external_views = [
        {
            "name": "SendGrid connections",
            "href": f"{APP_PREFIX}/connections",
            "url_route": "sendgrid_connections",
            "destination": "nav",
            "category": "admin",
        },
    ]
