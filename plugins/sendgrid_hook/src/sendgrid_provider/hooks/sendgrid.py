"""SendGrid hook: turns a ``sendgrid`` Airflow connection into authenticated requests."""

from __future__ import annotations

from airflow.providers.http.hooks.http import HttpHook


class SendGridHook(HttpHook):
    """Interact with the SendGrid v3 Web API through a ``sendgrid`` connection.

    :param sendgrid_conn_id: The Airflow connection holding the tenant's credentials.
    """

    conn_name_attr = "sendgrid_conn_id"
    default_conn_name = "sendgrid_default"
    conn_type = "sendgrid"
    hook_name = "SendGrid"

    def __init__(self, sendgrid_conn_id: str = default_conn_name, **kwargs) -> None:
        super().__init__(method="GET", http_conn_id=sendgrid_conn_id, **kwargs)
        self.sendgrid_conn_id = sendgrid_conn_id
