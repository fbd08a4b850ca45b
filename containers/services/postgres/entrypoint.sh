#!/bin/sh
# First start: a cluster with password authentication for POSTGRES_USER and the database
# POSTGRES_DB, and the *.sql files in /docker-entrypoint-initdb.d run; then the server in the
# foreground, listening on every address of the container.
set -eu
bin=/usr/lib/postgresql/15/bin
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
user=${POSTGRES_USER:-postgres}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
    "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile=/tmp/pwfile --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f /tmp/pwfile
    echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$user\";" | "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
    fi
    # As the official image: *.sql files in /docker-entrypoint-initdb.d run once, one statement a line.
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [ -f "$script" ] || continue
        "$bin/postgres" --single -D "$PGDATA" "${POSTGRES_DB:-postgres}" >/dev/null < "$script"
    done
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql "$@"
