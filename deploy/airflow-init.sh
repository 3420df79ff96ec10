#!/usr/bin/env bash
# One-shot initialisation of the Airflow deployment (compose service `airflow-init`, runs as
# root like the official file's init): volume ownership, metadata DB migration, the
# `sendgrid_api` pool and the admin password of the simple auth manager. Idempotent.
set -euo pipefail

: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD must be set (see .env.example)}"
AIRFLOW_UID="${AIRFLOW_UID:-50000}"
ADMIN_USER="${AIRFLOW_ADMIN_USERNAME:-admin}"
PASSWORDS_FILE="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-/opt/airflow/auth/passwords.json}"

mkdir -p /opt/airflow/logs "$(dirname "$PASSWORDS_FILE")"

echo "Airflow version: $(airflow version)"

echo "Migrating the metadata database"
airflow db migrate

echo "Creating pool sendgrid_api (${SENDGRID_API_POOL_SLOTS:-8} slots)"
airflow pools set sendgrid_api "${SENDGRID_API_POOL_SLOTS:-8}" \
    "Concurrent SendGrid API tasks across all tenants (see docs/deploy.md)"

echo "Writing the admin password for user ${ADMIN_USER}"
python - "$PASSWORDS_FILE" "$ADMIN_USER" <<'PY'
import json, os, sys

path, user = sys.argv[1], sys.argv[2]
with open(path, "w") as fh:
    json.dump({user: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, fh)
os.chmod(path, 0o640)
PY

chown -R "${AIRFLOW_UID}:0" /opt/airflow/logs "$(dirname "$PASSWORDS_FILE")"
echo "airflow-init done"
