#!/usr/bin/env bash
# Produces the list of metric names the product really exports, from real /metrics output:
#
#   tests/catalog-chart/real-metrics.sh <out dir> [<dir with write-api and read-api binaries>]
#
# Starts a MariaDB primary and a GTID replica the way the mysql chart does (scripts/lib/mysql-pods.sh:
# the chart's scripts, accounts and grants; loopback, free ports, temp dir), mysqld-exporter (the
# Debian package) against each with the sidecar's rendered arguments, and, when the binaries are
# given, runs `write-api migrate`, then write-api on the primary and read-api on the replica, and
# drives them with the chart's own helm test script (charts/catalog/files/roundtrip-test.sh), so
# the round trip is tested for real and every metric family gets samples. Writes:
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
# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
# shellcheck source=scripts/lib/mysql-pods.sh
. "$root/scripts/lib/mysql-pods.sh"
mysql_state=$work
# Small buffer pool: the other suites' servers share this machine.
mysql_pod_env_extra=(MYSQL_INNODB_BUFFER_POOL_SIZE=32M)
pids=()

cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  mysql_stop_all
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '[real-metrics] %s\n' "$*"; }

# Sample names of a Prometheus text exposition, one per line.
metric_names() { curl -fsS "$1" | sed -e '/^#/d' -e '/^[[:space:]]*$/d' -e 's/[{ ].*//' | sort -u; }
# "<sample name> <label name>" for every label of every sample.
metric_labels() { curl -fsS "$1" | python3 "$root/tests/catalog-chart/metric_labels.py" | sort -u; }

read -r primary_port replica_port primary_exporter replica_exporter write_port write_admin read_port read_admin \
  < <(free_ports 8)

log "starting MariaDB primary (:$primary_port) and replica (:$replica_port) with the mysql chart's scripts"
mysql_render
mysql_make_secrets
mysql_new_pod 0 "$primary_port"
mysql_new_pod 1 "$replica_port"
mysql_start_pod 0
mysql_start_pod 1
wait_until 60 mysql_in_pod 1 -- probe.sh ready || { mysql_in_pod 1 -- probe.sh ready; exit 1; }
log "replica follows the primary"

# start_exporter N LISTEN_PORT: the sidecar's rendered arguments, with pod N's credential file.
start_exporter() {
  local -a args
  mapfile -t args < <(mysql_exporter_args "$1" "$2")
  prometheus-mysqld-exporter "${args[@]}" > "$work/exporter-$1.log" 2>&1 &
  pids+=($!)
  wait_until 30 curl -fsS "http://127.0.0.1:$2/metrics" || { cat "$work/exporter-$1.log"; return 1; }
}
start_exporter 0 "$primary_exporter"
start_exporter 1 "$replica_exporter"
up() { curl -fsS "http://127.0.0.1:$1/metrics" | grep -qx 'mysql_up 1'; }
wait_until 30 up "$primary_exporter"
wait_until 30 up "$replica_exporter"
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
    "CATALOG__DATABASE__PASSWORD_FILE=$5" "CATALOG__SHUTDOWN__DRAIN_DELAY_MS=0" "CATALOG__AUTH__REQUIRED=false"
}
secret() { echo "$work/secrets/$1/password"; }

log "write-api migrate (as catalog_migrator)"
mapfile -t env_migrate < <(app_env 0 0 "$primary_port" catalog_migrator "$(secret catalog-migrator)")
env "${env_migrate[@]}" "$bins/write-api" migrate > "$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; exit 1; }

mapfile -t env_write < <(app_env "$write_port" "$write_admin" "$primary_port" catalog_writer "$(secret catalog-writer)")
env "${env_write[@]}" "$bins/write-api" > "$work/write-api.log" 2>&1 &
pids+=($!)
mapfile -t env_read < <(app_env "$read_port" "$read_admin" "$replica_port" catalog_reader "$(secret catalog-reader)")
env "${env_read[@]}" "$bins/read-api" > "$work/read-api.log" 2>&1 &
pids+=($!)
wait_until 60 curl -fsS "http://127.0.0.1:$write_port/readyz" || { cat "$work/write-api.log"; exit 1; }
wait_until 60 curl -fsS "http://127.0.0.1:$read_port/readyz" || { cat "$work/read-api.log"; exit 1; }
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
