#!/bin/bash
# Entrypoint of effect-testcontainers/postgres:15 (PostgreSQL 15 from Debian
# bookworm). It reads the same environment variables as the official postgres
# image:
#   POSTGRES_PASSWORD          superuser password, required unless
#                              POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER              superuser name, default postgres
#   POSTGRES_DB                database created on first start, default
#                              $POSTGRES_USER
#   POSTGRES_INITDB_ARGS       extra initdb arguments, split on whitespace
#                              (quotes are not interpreted)
#   POSTGRES_HOST_AUTH_METHOD  pg_hba.conf method for TCP connections from any
#                              address, default scram-sha-256
#   PGDATA                     data directory, default /var/lib/postgresql/data
#
# On an empty data directory it runs initdb, starts a temporary server that
# listens on the unix socket only, creates POSTGRES_DB, runs the files in
# /docker-entrypoint-initdb.d in name order (*.sql and *.sql.gz through psql,
# *.sh executed when executable and sourced otherwise), and stops that server.
# Then it runs the real server on all addresses, port 5432. Both servers log
# "database system is ready to accept connections", so a first start prints
# that line twice.
#
# Arguments: a first argument starting with "-" is passed to postgres. Any
# other command (psql, bash, ...) runs as given, as the container's user.
set -euo pipefail

log() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }

if [[ "${1:-}" == -* ]]; then
  set -- postgres "$@"
fi
if [[ "${1:-}" != postgres ]]; then
  exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
host_auth_method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

# As root, prepare the directories, then run this script again as postgres.
if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 700 "$PGDATA"
  chown postgres:postgres /var/run/postgresql
  chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

psql_setup=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER")

run_init_files() {
  local file
  for file in /docker-entrypoint-initdb.d/*; do
    [[ -e "$file" ]] || continue
    case "$file" in
      *.sh)
        if [[ -x "$file" ]]; then
          log "running $file"
          "$file"
        else
          log "sourcing $file"
          # Sourced scripts are often written without "set -u" in mind.
          set +u
          # shellcheck disable=SC1090
          . "$file"
          set -u
        fi
        ;;
      *.sql)
        log "running $file"
        "${psql_setup[@]}" --dbname "$POSTGRES_DB" -f "$file"
        ;;
      *.sql.gz)
        log "running $file"
        gunzip -c "$file" | "${psql_setup[@]}" --dbname "$POSTGRES_DB"
        ;;
      *)
        log "ignoring $file (expected *.sh, *.sql or *.sql.gz)"
        ;;
    esac
  done
}

initialize_data_directory() {
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$host_auth_method" != trust ]]; then
    log "error: POSTGRES_PASSWORD is not set. Set it to the superuser password" \
      "(docker run -e POSTGRES_PASSWORD=...), or set POSTGRES_HOST_AUTH_METHOD=trust" \
      "to accept TCP connections without a password."
    exit 1
  fi

  local initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host="$host_auth_method")
  local extra_args=()
  read -r -a extra_args <<<"${POSTGRES_INITDB_ARGS:-}"
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    initdb --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") "${initdb_args[@]}" "${extra_args[@]}"
  else
    initdb "${initdb_args[@]}" "${extra_args[@]}"
  fi

  printf '\nhost all all all %s\n' "$host_auth_method" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  log "starting a temporary server on the unix socket only"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w -t 60 start

  if [[ "$POSTGRES_DB" != postgres ]]; then
    log "creating database $POSTGRES_DB"
    "${psql_setup[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  run_init_files

  log "stopping the temporary server"
  pg_ctl -D "$PGDATA" -m fast -w -t 60 stop
  log "PostgreSQL init process complete; ready for start up."
}

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  initialize_data_directory
else
  log "$PGDATA already contains a database cluster, skipping initialization"
fi

exec "$@"
