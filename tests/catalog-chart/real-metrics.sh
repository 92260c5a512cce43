#!/usr/bin/env bash
# Produces the list of metric names the product really exports, from real /metrics output:
#
#   tests/catalog-chart/real-metrics.sh <out dir> [<dir with write-api and read-api binaries>]
#
# Starts a MariaDB primary and a GTID replica (real mariadbd, loopback, free ports, temp dir),
# mysqld-exporter (the Debian package) against each, and, when the binaries are given, runs
# `write-api migrate`, then write-api on the primary and read-api on the replica, and drives them
# with the chart's own helm test script (charts/catalog/files/roundtrip-test.sh), so the round
# trip is tested for real and every metric family gets samples. Writes:
#   <out>/exporter-metrics.txt  metric names scraped from mysqld-exporter (primary and replica)
#   <out>/app-metrics.txt       metric names scraped from write-api and read-api (with binaries)
#   <out>/*-labels.txt          "<metric> <label>" pairs of the same scrapes
#   <out>/roundtrip.log         the round trip's output
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?usage: real-metrics.sh <out dir> [<binaries dir>]}
bins=${2:-}
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/catalog-metrics.XXXXXX")
pids=()

cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '[real-metrics] %s\n' "$*"; }

free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# wait_for SECONDS command...: retries every 0.25 s.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.25
  done
}

# Sample names of a Prometheus text exposition, one per line.
metric_names() { curl -fsS "$1" | sed -e '/^#/d' -e '/^[[:space:]]*$/d' -e 's/[{ ].*//' | sort -u; }
# "<sample name> <label name>" for every label of every sample.
metric_labels() {
  curl -fsS "$1" | python3 -c 'import re, sys
for line in sys.stdin:
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}", line)
    if m:
        for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"(?:[^\"\\\\]|\\\\.)*\"", m.group(2)):
            print(m.group(1), label)' | sort -u
}

read -r primary_port replica_port primary_exporter replica_exporter write_port write_admin read_port read_admin \
  < <(free_ports 8)
password() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
repl_password=$(password)
exporter_password=$(password)
migrator_password=$(password)
writer_password=$(password)
reader_password=$(password)

# start_mariadb NAME PORT SERVER_ID [extra mariadbd options...]
start_mariadb() {
  local name=$1 port=$2 id=$3; shift 3
  local dir="$work/$name"
  mkdir -p "$dir/data" "$dir/tmp"
  mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" --auth-root-authentication-method=socket \
    > "$dir/install.log" 2>&1 || { cat "$dir/install.log"; return 1; }
  mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" --tmpdir="$dir/tmp" \
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --bind-address=127.0.0.1 --port="$port" \
    --server-id="$id" --log-bin=mysql-bin --binlog-format=ROW --innodb-buffer-pool-size=32M \
    --skip-name-resolve "$@" > "$dir/server.log" 2>&1 &
  pids+=($!)
  wait_for 60 mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping \
    || { tail -n 30 "$dir/server.log"; return 1; }
}
sql() { mariadb --no-defaults --socket="$work/$1/mysqld.sock" -uroot -e "$2"; }

log "starting MariaDB primary (:$primary_port) and replica (:$replica_port)"
start_mariadb primary "$primary_port" 1
start_mariadb replica "$replica_port" 2 --read-only
# The accounts the mysql chart creates, with the same privileges (least privilege).
sql primary "
  CREATE DATABASE catalog;
  CREATE USER 'repl'@'%' IDENTIFIED BY '$repl_password';
  GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
  CREATE USER 'exporter'@'%' IDENTIFIED BY '$exporter_password' WITH MAX_USER_CONNECTIONS 3;
  GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO 'exporter'@'%';
  CREATE USER 'catalog_migrator'@'%' IDENTIFIED BY '$migrator_password';
  GRANT ALL PRIVILEGES ON catalog.* TO 'catalog_migrator'@'%';
  CREATE USER 'catalog_writer'@'%' IDENTIFIED BY '$writer_password';
  GRANT SELECT, INSERT, UPDATE, DELETE ON catalog.* TO 'catalog_writer'@'%';
  CREATE USER 'catalog_reader'@'%' IDENTIFIED BY '$reader_password';
  GRANT SELECT ON catalog.* TO 'catalog_reader'@'%';"
sql replica "
  CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port, MASTER_USER='repl',
    MASTER_PASSWORD='$repl_password', MASTER_USE_GTID=slave_pos;
  START SLAVE;"
replicated() { [ "$(mariadb --no-defaults --socket="$work/replica/mysqld.sock" -uroot -N -e "SELECT COUNT(*) FROM mysql.user WHERE user='catalog_reader'")" = 1 ]; }
wait_for 30 replicated || { sql replica "SHOW SLAVE STATUS\G"; exit 1; }
log "replica follows the primary"

# start_exporter NAME PORT LISTEN_PORT
start_exporter() {
  DATA_SOURCE_NAME="exporter:$exporter_password@(127.0.0.1:$2)/" \
    prometheus-mysqld-exporter --web.listen-address="127.0.0.1:$3" > "$work/exporter-$1.log" 2>&1 &
  pids+=($!)
  wait_for 30 curl -fsS "http://127.0.0.1:$3/metrics" || { cat "$work/exporter-$1.log"; return 1; }
}
start_exporter primary "$primary_port" "$primary_exporter"
start_exporter replica "$replica_port" "$replica_exporter"
up() { curl -fsS "http://127.0.0.1:$1/metrics" | grep -qx 'mysql_up 1'; }
wait_for 30 up "$primary_exporter"
wait_for 30 up "$replica_exporter"
{ metric_names "http://127.0.0.1:$primary_exporter/metrics"; metric_names "http://127.0.0.1:$replica_exporter/metrics"; } \
  | sort -u > "$out/exporter-metrics.txt"
{ metric_labels "http://127.0.0.1:$primary_exporter/metrics"; metric_labels "http://127.0.0.1:$replica_exporter/metrics"; } \
  | sort -u > "$out/exporter-labels.txt"
grep -qx mysql_slave_status_seconds_behind_master "$out/exporter-metrics.txt" \
  || { echo "the replica's exporter reports no replication status" >&2; exit 1; }
log "mysqld-exporter: $(wc -l < "$out/exporter-metrics.txt") metric names"

[ -n "$bins" ] || exit 0

# app_env API_PORT ADMIN_PORT DB_PORT USER PASSWORD_FILE: the environment the chart gives a pod,
# with loopback addresses in place of the Services.
app_env() {
  printf '%s\n' "CATALOG__SERVER__HOST=127.0.0.1" "CATALOG__SERVER__PORT=$1" "CATALOG__SERVER__ADMIN_PORT=$2" \
    "CATALOG__DATABASE__HOST=127.0.0.1" "CATALOG__DATABASE__PORT=$3" "CATALOG__DATABASE__USER=$4" \
    "CATALOG__DATABASE__PASSWORD_FILE=$5" "CATALOG__SHUTDOWN__DRAIN_DELAY_MS=0"
}
mkdir -p "$work/secrets"
printf '%s\n' "$migrator_password" > "$work/secrets/migrator"
printf '%s\n' "$writer_password" > "$work/secrets/writer"
printf '%s\n' "$reader_password" > "$work/secrets/reader"

log "write-api migrate (as catalog_migrator)"
mapfile -t env_migrate < <(app_env 0 0 "$primary_port" catalog_migrator "$work/secrets/migrator")
env "${env_migrate[@]}" "$bins/write-api" migrate > "$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; exit 1; }

mapfile -t env_write < <(app_env "$write_port" "$write_admin" "$primary_port" catalog_writer "$work/secrets/writer")
env "${env_write[@]}" "$bins/write-api" > "$work/write-api.log" 2>&1 &
pids+=($!)
mapfile -t env_read < <(app_env "$read_port" "$read_admin" "$replica_port" catalog_reader "$work/secrets/reader")
env "${env_read[@]}" "$bins/read-api" > "$work/read-api.log" 2>&1 &
pids+=($!)
wait_for 60 curl -fsS "http://127.0.0.1:$write_port/readyz" || { cat "$work/write-api.log"; exit 1; }
wait_for 60 curl -fsS "http://127.0.0.1:$read_port/readyz" || { cat "$work/read-api.log"; exit 1; }
log "write-api and read-api are ready"

WRITE_URL="http://127.0.0.1:$write_port/api/write" READ_URL="http://127.0.0.1:$read_port/api/read" \
  sh "$root/charts/catalog/files/roundtrip-test.sh" > "$out/roundtrip.log" 2>&1 \
  || { cat "$out/roundtrip.log"; exit 1; }
log "helm test round trip passed against the real services"

{ metric_names "http://127.0.0.1:$write_admin/metrics"; metric_names "http://127.0.0.1:$read_admin/metrics"; } \
  | sort -u > "$out/app-metrics.txt"
{ metric_labels "http://127.0.0.1:$write_admin/metrics"; metric_labels "http://127.0.0.1:$read_admin/metrics"; } \
  | sort -u > "$out/app-labels.txt"
log "write-api and read-api: $(wc -l < "$out/app-metrics.txt") metric names"
