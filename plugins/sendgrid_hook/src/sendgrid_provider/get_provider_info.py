"""Provider metadata read by Airflow's ProvidersManager through the entry point."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata (``package-name`` must equal the distribution name)."""
    return {
        "package-name": "sendgrid-utilization-provider",
        "name": "SendGrid utilization",
        "description": "Connection type and hook for the SendGrid utilization ELT pipeline.",
        "versions": ["0.1.0"],
        "hooks": [
            {
                "integration-name": "SendGrid utilization",
                "python-modules": ["sendgrid_provider.hooks.sendgrid"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "sendgrid_provider.hooks.sendgrid.SendGridHook",
                "hook-name": "SendGrid",
                "connection-type": "sendgrid",
            }
        ],
    }
