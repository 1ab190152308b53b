#!/bin/bash
# The parts of the official postgres image's entrypoint this project relies on: as root, hand PGDATA to
# the postgres user and start again as that user; on an empty PGDATA, initdb with POSTGRES_USER's
# password, create POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sh and *.sql against a server that
# listens on its socket only, then start the real server on every address with password logins.
set -euo pipefail

if [ "${1:-}" = "postgres" ] && [ "$(id -u)" = "0" ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set: the database is uninitialised}"
    export POSTGRES_USER=${POSTGRES_USER:-postgres}
    export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"

    pg_ctl --pgdata="$PGDATA" --wait --silent --options="-c listen_addresses=''" start
    psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --no-password)
    if [ "$POSTGRES_DB" != "postgres" ]; then
        "${psql[@]}" --dbname postgres -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh) echo "$0: running $script"; bash "$script" ;;
            *.sql) echo "$0: running $script"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$script" ;;
            *) [ -e "$script" ] && echo "$0: ignoring $script" ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    echo "$0: PostgreSQL init process complete; ready for start up."
fi

if [ "${1:-}" = "postgres" ]; then
    set -- "$@" -c listen_addresses='*'
fi
exec "$@"
