#!/usr/bin/env bash
# Shared helpers for the scripts the mysql chart runs inside its pods. Sourced, never executed.
# Every setting comes from the environment the pod spec sets; the defaults are the in-pod paths.
set -euo pipefail

: "${MYSQL_DATA_ROOT:=/var/lib/mysql}"          # the PVC; the datadir is a subdirectory of it
: "${MYSQL_CONF_DIR:=/etc/mysql/generated}"     # emptyDir written by configure.sh
: "${MYSQL_RUN_DIR:=/run/mysqld}"               # socket and pid file
: "${MYSQL_SECRETS_DIR:=/etc/mysql/secrets}"    # one directory per account: username, password
: "${MYSQL_PORT:=3306}"
: "${MYSQL_PRIMARY_HOST:=}"                     # the primary's address (pod 0 of the headless Service)
: "${MYSQL_PRIMARY_PORT:=3306}"
: "${MYSQL_PRIMARY_ORDINAL:=0}"
: "${MYSQL_RUN_AS_USER:=}"                      # empty in the pod (already the mysql uid); "root" in tests
: "${TMPDIR:=/tmp}"

# shellcheck disable=SC2034 # used by the scripts that source this file
MYSQL_DATADIR="$MYSQL_DATA_ROOT/data"
# shellcheck disable=SC2034
MYSQL_SOCKET="$MYSQL_RUN_DIR/mysqld.sock"
# shellcheck disable=SC2034
MYSQL_CNF="$MYSQL_CONF_DIR/my.cnf"
# shellcheck disable=SC2034
BOOTSTRAP_STARTED="$MYSQL_DATA_ROOT/.bootstrap-started"
# shellcheck disable=SC2034
BOOTSTRAP_COMPLETE="$MYSQL_DATA_ROOT/.bootstrap-complete"
# shellcheck disable=SC2034 # run-mariadbd.sh: the first binlog that holds no password
BINLOG_CLEAN_FROM="$MYSQL_DATA_ROOT/.binlog-clean-from"

log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Ordinal of this pod, from a hostname like "mysql-2".
pod_ordinal() {
  local host=${HOSTNAME:?HOSTNAME must be the pod name, e.g. mysql-0}
  [[ $host =~ -([0-9]+)$ ]] || die "cannot take an ordinal from hostname '$host'"
  echo "${BASH_REMATCH[1]}"
}

is_primary() { [ "$(pod_ordinal)" -eq "$MYSQL_PRIMARY_ORDINAL" ]; }

secret() { # secret <account> <key>
  local file="$MYSQL_SECRETS_DIR/$1/$2"
  [ -r "$file" ] || die "secret file $file is missing"
  tr -d '\n' < "$file"
}

# SQL string literal: escape backslashes and single quotes.
sql_quote() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }

# Writes a client option file for <account> and prints its path, so no password is ever on a
# command line. Extra "key=value" arguments (host, port, socket) are added to the [client] group.
client_cnf() {
  local account=$1; shift
  local file
  file=$(mktemp "$TMPDIR/client-$account.XXXXXX.cnf")
  chmod 600 "$file"
  {
    echo "[client]"
    echo "user=$(secret "$account" username)"
    echo "password=\"$(secret "$account" password | sed 's/["\\]/\\&/g')\""
    local opt
    for opt in "$@"; do echo "$opt"; done
  } > "$file"
  echo "$file"
}

# sql_as <account> <client options...> -- runs the mariadb client with that account's credentials.
sql_as() {
  local account=$1; shift
  local cnf
  cnf=$(client_cnf "$account")
  local rc=0
  mariadb --defaults-extra-file="$cnf" "$@" || rc=$?
  rm -f "$cnf"
  return $rc
}

primary_tcp_opts() {
  [ -n "$MYSQL_PRIMARY_HOST" ] || die "MYSQL_PRIMARY_HOST is not set"
  echo "--host=$MYSQL_PRIMARY_HOST --port=$MYSQL_PRIMARY_PORT --protocol=TCP"
}

run_as_user_opt() { [ -z "$MYSQL_RUN_AS_USER" ] || echo "--user=$MYSQL_RUN_AS_USER"; }
