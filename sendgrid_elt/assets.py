"""Assets the pipeline's DAGs exchange (import-light: only ``airflow.sdk``)."""

from __future__ import annotations

from airflow.sdk import Asset

from sendgrid_elt.settings import (
    MARTS_ASSET_NAME,
    MARTS_ASSET_URI,
    STAGING_ASSET_NAME,
    STAGING_ASSET_URI,
)

#: Emitted by ``sendgrid_extract_load`` when a run has landed data in ``sendgrid_staging``;
#: its event extra holds per-stream row counts (``rows``), per-tenant totals and statuses, and
#: ``as_of`` (the run's data interval end, ISO-8601 UTC) that the transform passes to dbt as
#: the var ``sendgrid_as_of``.
STAGING_ASSET = Asset(name=STAGING_ASSET_NAME, uri=STAGING_ASSET_URI)

#: Emitted by ``sendgrid_transform`` when the marts were rebuilt (BI refreshes can follow it).
MARTS_ASSET = Asset(name=MARTS_ASSET_NAME, uri=MARTS_ASSET_URI)
