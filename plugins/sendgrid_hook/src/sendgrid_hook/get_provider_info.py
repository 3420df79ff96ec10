"""Provider metadata read by Airflow's ProvidersManager through the entry point.

The connection form is declarative (Airflow 3.2+ ``conn-fields`` / ``ui-field-behaviour``):
no WTForms import, and the UI renders each extra from its JSON schema. Secrets use
``format: password`` (masked in the form, treated as sensitive). Standard fields: ``password``
holds the API key, ``host`` the optional base URL override; ``schema``, ``port`` and ``login``
are hidden. Extras are stored bare in the connection's extra JSON (``{"region": "eu"}``).
"""

from __future__ import annotations

from typing import Any

from sendgrid_hook.constants import CONN_TYPE, SIMULATOR_PORT

_SECRET = {"type": ["string", "null"], "format": "password"}
_TEXT = {"type": ["string", "null"]}

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "auth_type": {
        "label": "Authentication",
        "description": "api_key: a SendGrid API key (Password field). "
        "oauth2: client id/secret and a refresh token from the Connect page.",
        "schema": {"type": "string", "enum": ["api_key", "oauth2"], "default": "api_key"},
    },
    "display_name": {
        "label": "Tenant display name",
        "description": "Name shown in alerts and dashboards (defaults to the connection id).",
        "schema": _TEXT,
    },
    "region": {
        "label": "Region",
        "description": "global = https://api.sendgrid.com, eu = https://api.eu.sendgrid.com "
        "(ignored when a base URL override is set).",
        "schema": {"type": "string", "enum": ["global", "eu"], "default": "global"},
    },
    "subusers": {
        "label": "Subusers to include",
        "description": "all, none, or a comma-separated list of subuser usernames.",
        "schema": {"type": ["string", "null"], "default": "all"},
    },
    "client_id": {
        "label": "OAuth client id",
        "description": "OAuth2 only.",
        "schema": _TEXT,
    },
    "client_secret": {
        "label": "OAuth client secret",
        "description": "OAuth2 only.",
        "schema": _SECRET,
    },
    "refresh_token": {
        "label": "OAuth refresh token",
        "description": "OAuth2 only; written by the Connect page. Rotated tokens are kept by "
        "the hook in the Variable sendgrid_oauth_token__<conn id>.",
        "schema": _SECRET,
    },
    "token_url": {
        "label": "OAuth token URL",
        "description": "OAuth2 only; defaults to <base URL>/oauth/token.",
        "schema": _TEXT,
    },
    "oauth_scopes": {
        "label": "OAuth scopes",
        "description": "Space-separated scopes to request on refresh (empty = as granted).",
        "schema": _TEXT,
    },
    "alert_emails": {
        "label": "Alert e-mails",
        "description": "Comma-separated addresses that receive reconnect alerts.",
        "schema": _TEXT,
    },
    "request_budget": {
        "label": "Request budget",
        "description": "Maximum API requests per task for this connection.",
        "schema": {"type": ["integer", "null"], "default": 50000, "minimum": 1},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata (``package-name`` must equal the distribution name)."""
    return {
        "package-name": "sendgrid-hook",
        "name": "SendGrid utilization",
        "description": "Connection type and hook for the SendGrid utilization ELT pipeline.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": "SendGrid utilization",
                "external-doc-url": "https://www.twilio.com/docs/sendgrid/api-reference",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "SendGrid utilization",
                "python-modules": ["sendgrid_hook.hooks.sendgrid"],
            }
        ],
        "notifications": ["sendgrid_hook.notifications.reconnect.ReconnectNotifier"],
        "connection-types": [
            {
                "hook-class-name": "sendgrid_hook.hooks.sendgrid.SendGridHook",
                "hook-name": "SendGrid",
                "connection-type": CONN_TYPE,
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"password": "API key", "host": "Base URL override"},
                    "placeholders": {
                        "password": "SG.xxxxxxxx.yyyyyyyy (API key auth only)",
                        "host": "empty = region host; "
                        f"e.g. http://127.0.0.1:{SIMULATOR_PORT} (simulator)",
                        "description": "Tenant display name if the extra is empty",
                    },
                },
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
