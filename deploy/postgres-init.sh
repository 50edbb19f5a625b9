#!/bin/sh
# The role the services work as (row-level security binds it); `registry` owns the schema.
# Its password comes from the env file (REGISTRY_APP_PASSWORD), never from this repository.
set -eu
psql -v ON_ERROR_STOP=1 -v app_password="$REGISTRY_APP_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE registry_app LOGIN NOBYPASSRLS PASSWORD :'app_password';
SQL
