#!/usr/bin/env bash
# Test harness for the mysql chart's scripts: "pods" are real mariadbd processes on free loopback
# ports in a temp dir, started by scripts/lib/mysql-pods.sh (the chart's scripts with the env
# its rendered pod spec sets, paths, ports and the primary's address pointed at the test's own).
# Sourced.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mysql-chart-test.XXXXXX")
# shellcheck source=../lib.sh
. "$repo/tests/lib.sh"
# shellcheck source=../../scripts/lib/mysql-pods.sh
. "$repo/scripts/lib/mysql-pods.sh"
mysql_state=$work
# shellcheck disable=SC2034 # used by integration.sh
scripts="$work/rendered/mysql/scripts"
secrets="$work/secrets"
# Small buffer pool: several servers share this machine.
mysql_pod_env_extra=(MYSQL_INNODB_BUFFER_POOL_SIZE=32M)

cleanup() {
  mysql_stop_all
  [ -n "${writer_pid:-}" ] && kill "$writer_pid" 2>/dev/null
  [ -n "${exporter_pid:-}" ] && kill "$exporter_pid" 2>/dev/null
  wait 2>/dev/null || true
  if [ "${KEEP_TEST_DIR:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# make_secrets: the library's Secrets, but the writer's password carries quotes and a backslash
# to prove the scripts quote SQL and option files.
make_secrets() {
  mysql_make_secrets
  printf '%s' "w'ri\"te\\r-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')" > "$secrets/catalog-writer/password"
}

cnf_for() { # cnf_for <account>: a client option file with that account's credentials
  local file="$work/client-$1.cnf"
  [ -f "$file" ] || printf '[client]\nuser=%s\npassword="%s"\n' "$(cat "$secrets/$1/username")" \
    "$(sed 's/["\\]/\\&/g' "$secrets/$1/password")" > "$file"
  echo "$file"
}
# sql N account args...: the account over TCP to pod N (root and probe: the local socket).
sql() {
  local n=$1 account=$2; shift 2
  local cnf
  cnf=$(cnf_for "$account")
  if [ "$account" = root ] || [ "$account" = probe ]; then
    mariadb --defaults-extra-file="$cnf" --socket="$(mysql_socket "$n")" -N -B "$@"
  else
    mariadb --defaults-extra-file="$cnf" --host=127.0.0.1 --port="$(mysql_port "$n")" --protocol=TCP -N -B "$@"
  fi
}
sql_tcp() { # sql_tcp N account args...: forces TCP, for "may this account log in remotely?"
  local n=$1 account=$2; shift 2
  mariadb --defaults-extra-file="$(cnf_for "$account")" --host=127.0.0.1 --port="$(mysql_port "$n")" --protocol=TCP -N -B "$@"
}

# wait_gtid N GTID: replica N has applied GTID (MASTER_GTID_WAIT, 60 s).
wait_gtid() { [ "$(sql "$1" root -e "SELECT MASTER_GTID_WAIT('$2', 60)")" = 0 ]; }
# lock_held N: a test session holds FLUSH TABLES WITH READ LOCK on pod N (and sleeps in it).
lock_held() { [ "$(sql "$1" root -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info = 'SELECT SLEEP(12)'")" = 1 ]; }
table_checksum() { sql "$1" root -e 'CHECKSUM TABLE catalog.items EXTENDED' | cut -f2; }
