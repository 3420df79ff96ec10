#!/usr/bin/env bash
# Warehouse roles (run once by the postgres image on an empty data directory, as
# POSTGRES_USER; also runnable by hand against an existing server with PG* variables set):
#   sendgrid_etl        login; owns the pipeline's schemas (loader + dbt write as it)
#   sendgrid_bi_reader  NOLOGIN group: USAGE + SELECT on sendgrid_marts only
#   bi_reader           login member of sendgrid_bi_reader, read-only transactions (Metabase)
#   metabase            login owning the `metabase` database (Metabase's application data)
# Names can be overridden with WAREHOUSE_*_USER / WAREHOUSE_BI_ROLE / METABASE_DB_*.
set -euo pipefail

: "${WAREHOUSE_ETL_PASSWORD:?WAREHOUSE_ETL_PASSWORD must be set}"
: "${WAREHOUSE_BI_PASSWORD:?WAREHOUSE_BI_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "${POSTGRES_USER:-${PGUSER:-postgres}}" \
    --dbname "${POSTGRES_DB:-${PGDATABASE:-sendgrid}}" \
    -v etl_user="${WAREHOUSE_ETL_USER:-sendgrid_etl}" \
    -v etl_password="${WAREHOUSE_ETL_PASSWORD}" \
    -v bi_role="${WAREHOUSE_BI_ROLE:-sendgrid_bi_reader}" \
    -v bi_user="${WAREHOUSE_BI_USER:-bi_reader}" \
    -v bi_password="${WAREHOUSE_BI_PASSWORD}" \
    -v metabase_user="${METABASE_DB_USER:-metabase}" \
    -v metabase_db="${METABASE_DB_NAME:-metabase}" \
    -v metabase_password="${METABASE_DB_PASSWORD:-}" \
    -f "$(dirname "$0")/sendgrid-roles.psql"
