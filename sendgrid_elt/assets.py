"""Assets the pipeline's DAGs exchange (import-light: only ``airflow.sdk``)."""

from __future__ import annotations

from airflow.sdk import Asset

#: Emitted by ``sendgrid_extract_load`` when a run has landed data in ``sendgrid_staging``;
#: its event extra holds per-stream row counts (``rows``), per-tenant totals and statuses.
STAGING_ASSET = Asset(name="sendgrid_staging", uri="x-sendgrid://staging")
