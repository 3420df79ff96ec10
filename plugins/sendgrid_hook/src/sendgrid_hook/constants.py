"""Names the provider owns; everything else imports them from here.

The pipeline (``sendgrid_elt.settings``), the Connect page plugin and the dashboard import these
instead of repeating the strings.
"""

from __future__ import annotations

#: Airflow connection type of a SendGrid tenant (one connection per organization).
CONN_TYPE = "sendgrid"

#: Default connection id of :class:`~sendgrid_hook.hooks.sendgrid.SendGridHook`.
DEFAULT_CONN_ID = "sendgrid_default"

#: PostgreSQL connection whose advisory locks serialize OAuth refreshes. The pipeline writes its
#: warehouse through the same connection, so one server serves both.
WAREHOUSE_CONN_ID = "sendgrid_warehouse"

#: Where the Connect / Reconnect page is mounted in the Airflow API server, and its list page
#: (reconnect alerts and the dashboard link to it).
CONNECT_APP_PREFIX = "/sendgrid"
CONNECT_PAGE_PATH = f"{CONNECT_APP_PREFIX}/connections"

#: Port of the local SendGrid simulator (``python -m sendgrid_simulator serve``, ``make demo``,
#: ``make airflow``, the compose file's ``sendgrid-simulator``): connections made against one
#: session's simulator keep working in the next. The connection form's base URL hint names it.
SIMULATOR_PORT = 8025

#: Airflow Variable holding the public base URL of the Airflow UI (alert and dashboard links).
CONNECT_BASE_URL_VARIABLE = "sendgrid_connect_base_url"

#: Seconds a check a person waits on may take (the Test button, the Connect page's check of a
#: credential just saved): its requests, retries and rate-limit waits all fit in it, so a slow or
#: rate-limiting SendGrid answers "try again later" instead of holding the page for minutes.
INTERACTIVE_TIME_BUDGET_SECONDS = 20.0

#: Extra that the API server's connection-test middleware (``sendgrid_connect``) adds to each
#: ``sendgrid`` body of ``POST /api/v2/connections/test``. Airflow tests a copy of the connection
#: under a random id, so an OAuth refresh there would rotate the stored refresh token away (and,
#: with reuse detection, revoke the grant); the hook declines OAuth tests carrying this extra.
TEST_COPY_EXTRA = "sendgrid_test_copy"
