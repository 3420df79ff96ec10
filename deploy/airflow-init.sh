#!/usr/bin/env bash
# One-shot initialisation of the Airflow deployment (compose service `airflow-init`, runs as
# root like the official file's init): volume ownership, metadata DB migration, the
# `sendgrid_api` pool and the passwords of the simple auth manager's users (the admin, and
# sendgrid_discovery, role op, that the extract DAG lists connections with). Idempotent.
set -euo pipefail

: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD must be set (see .env.example)}"
AIRFLOW_UID="${AIRFLOW_UID:-50000}"
ADMIN_USER="${AIRFLOW_ADMIN_USERNAME:-admin}"
PASSWORDS_FILE="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-/opt/airflow/auth/passwords.json}"
SECRETS=(AIRFLOW_ADMIN_PASSWORD SENDGRID_DISCOVERY_PASSWORD AIRFLOW_JWT_SECRET AIRFLOW_API_SECRET_KEY AIRFLOW_DB_PASSWORD
    REDIS_PASSWORD WAREHOUSE_ADMIN_PASSWORD WAREHOUSE_ETL_PASSWORD WAREHOUSE_BI_PASSWORD
    METABASE_DB_PASSWORD)

# Refuse placeholder and short secrets: every Airflow service waits for this init, so none
# starts with a password or signing secret that anyone can read in .env.example.
weak=()
for name in "${SECRETS[@]}"; do
    value="${!name:-}"
    if [[ -z "$value" || "$value" == "change-me" || ${#value} -lt 16 ]]; then
        weak+=("$name")
    fi
done
if (( ${#weak[@]} )); then
    echo "airflow-init: refusing to start: ${weak[*]} still the .env.example placeholder," \
        "empty or shorter than 16 characters; generate each with" \
        "python3 -c \"import secrets; print(secrets.token_urlsafe(32))\" (docs/deploy.md)" >&2
    exit 1
fi
if ! python -c 'import os, sys; from cryptography.fernet import Fernet; Fernet(os.environ["AIRFLOW__CORE__FERNET_KEY"])' 2>/dev/null; then
    echo "airflow-init: refusing to start: AIRFLOW_FERNET_KEY is not a Fernet key; generate one" \
        "with the first command in .env.example (docs/deploy.md)" >&2
    exit 1
fi

mkdir -p /opt/airflow/logs "$(dirname "$PASSWORDS_FILE")"

echo "Airflow version: $(airflow version)"

echo "Migrating the metadata database"
airflow db migrate

echo "Creating pool sendgrid_api (${SENDGRID_API_POOL_SLOTS:-8} slots)"
airflow pools set sendgrid_api "${SENDGRID_API_POOL_SLOTS:-8}" \
    "Concurrent SendGrid API tasks across all tenants (see docs/deploy.md)"

echo "Writing the passwords of ${ADMIN_USER} and sendgrid_discovery"
python - "$PASSWORDS_FILE" "$ADMIN_USER" <<'PY'
import json, os, sys

path, user = sys.argv[1], sys.argv[2]
with open(path, "w") as fh:
    json.dump({user: os.environ["AIRFLOW_ADMIN_PASSWORD"],
               "sendgrid_discovery": os.environ["SENDGRID_DISCOVERY_PASSWORD"]}, fh)
os.chmod(path, 0o640)
PY

chown -R "${AIRFLOW_UID}:0" /opt/airflow/logs "$(dirname "$PASSWORDS_FILE")"
echo "airflow-init done"
