#!/bin/bash
# Runs once, on the first start of an empty PostgreSQL volume: one database per service,
# named in POSTGRES_MULTIPLE_DATABASES and owned by POSTGRES_USER.
set -euo pipefail
for database in ${POSTGRES_MULTIPLE_DATABASES}; do
  echo "creating database ${database}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
    -c "CREATE DATABASE \"${database}\" OWNER \"${POSTGRES_USER}\""
done
