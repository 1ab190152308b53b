#!/usr/bin/env bash
# Creates one database and one login role per service (auth, todo), each role able to connect only to
# its own database. The official postgres image runs this once, on an empty data volume, through
# /docker-entrypoint-initdb.d; POSTGRES_USER is the superuser and POSTGRES_DB its maintenance database.
set -euo pipefail

: "${AUTH_DB_PASSWORD:?AUTH_DB_PASSWORD must be set (compose/.env)}"
: "${TODO_DB_PASSWORD:?TODO_DB_PASSWORD must be set (compose/.env)}"
superuser=${POSTGRES_USER:-postgres}
maintenance_db=${POSTGRES_DB:-$superuser}

run_sql() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$superuser" --dbname "$maintenance_db" "$@"
}

# psql variables (:"name", :'password') quote identifiers and literals, so no value is pasted into SQL.
create_service_database() {
    run_sql -v name="$1" -v password="$2" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"name" OWNER :"name";
-- PUBLIC gets CONNECT and TEMPORARY on every new database; only the owner (and superusers) keep them.
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
}

create_service_database auth "$AUTH_DB_PASSWORD"
create_service_database todo "$TODO_DB_PASSWORD"

# The maintenance databases hold nothing of the services; no service role needs to reach them.
run_sql -v maintenance_db="$maintenance_db" <<'SQL'
REVOKE CONNECT ON DATABASE :"maintenance_db" FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
SQL
