#!/usr/bin/env bash
# First performance figures (make bench; not part of CI): starts its own local stack (release
# build, free ports, .state/bench), runs fixed k6 scenarios and both baselines in the same run, and
# writes docs/benchmarks.md (also printed). Only 127.0.0.1 is ever targeted.
#
#   CPU per request (wrk, a light closed-loop client, WRK_CONNECTIONS connections, straight at each
#     server): GET by id, list and create on the API and on its raw floor (services/bench-floor:
#     axum + the same sqlx, hand-written statements, no telemetry), alternating in WRK_ROUNDS
#     rounds of WRK_DURATION each so both see the same machine: req/s, p50/p99, server and
#     mariadbd CPU µs per request, the database commands per request from MariaDB's counters, and
#     the API ÷ floor ratio
#   per operation (GET by id, list, create, update) through the proxy at VUS k6 clients for DURATION:
#     throughput, p50/p95/p99, CPU-seconds per 1 000 requests of each API process, peak RSS
#   idle RSS of each API, and its process start to ready over READY_STARTS starts (restarts)
#   replica lag under the write burst (loadtest/scenarios/write-burst.js)
#   baselines: the same point-select and insert straight on MariaDB (mariadb-slap, no HTTP), and
#     nginx answering a static 200 (the HTTP floor); our figures as ratios against them
#
# Environment: VUS (default 8), DURATION (default 20s), WRK_CONNECTIONS (default 8), WRK_ROUNDS
# (default 4), WRK_DURATION (default 5s), READY_STARTS (default 5, an odd number: the first start,
# then each restart starts a surge instance and the API again), BENCH_OUT (default docs/benchmarks.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$root/bin:$root/.venv/bin:$PATH"
export STACK_DIR="$root/.state/bench" STACK_PORTS=free STACK_PROFILE=release STACK_SCRAPE_INTERVAL=2s
vus=${VUS:-8}
duration=${DURATION:-20s}
wrk_connections=${WRK_CONNECTIONS:-8}
wrk_rounds=${WRK_ROUNDS:-4}
wrk_duration=${WRK_DURATION:-5s}
ready_starts=${READY_STARTS:-5}
out=${BENCH_OUT:-$root/docs/benchmarks.md}
stack="$root/scripts/local-stack/stack.sh"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
results="$STACK_DIR/bench"

log() { printf '[bench] %s\n' "$*"; }
floor_pids=()
stop_floors() { for pid in "${floor_pids[@]}"; do kill "$pid" 2> /dev/null || true; done; }
trap 'stop_floors; "$stack" down > /dev/null 2>&1 || true' EXIT

"$stack" clean > /dev/null
cargo build --quiet --release --locked -p bench-floor --manifest-path "$root/Cargo.toml"
"$stack" up | grep '^\[stack\]'
# shellcheck source=/dev/null
. "$STACK_DIR/stack.env"
mkdir -p "$results"

pid_of() { cat "$STACK_DIR/run/$1.pid"; }
# cpu_seconds NAME: utime + stime of the process so far.
cpu_seconds() {
  # After "pid (comm) ", fields 12 and 13 are utime and stime, in clock ticks.
  awk -v ticks="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / ticks }' "/proc/$(pid_of "$1")/stat"
}
difference() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }
# status_kb NAME FIELD: VmRSS (now) or VmHWM (peak) in KiB.
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$(pid_of "$1")/status"; }

{
  echo "idle_rss_kb_write_api=$(status_kb write-api VmRSS)"
  echo "idle_rss_kb_read_api=$(status_kb read-api VmRSS)"
} > "$results/idle.env"

# Process start to /readyz 200 (stack.sh measures it, polling every millisecond) over several starts:
# the first start's, then two per rolling restart (the surge instance and the API again).
log "start-to-ready: $ready_starts starts of each API"
for api in write-api read-api; do
  cat "$STACK_DIR/run/$api.ready-ms" > "$results/ready-$api.txt"
  for _ in $(seq $(((ready_starts - 1) / 2))); do
    "$stack" restart "$api" > /dev/null
    cat "$STACK_DIR/run/$api-surge.ready-ms" "$STACK_DIR/run/$api.ready-ms" >> "$results/ready-$api.txt"
  done
done

k6_run() { # k6_run SCENARIO [-e NAME=value...]
  local scenario=$1; shift
  k6 run --quiet -e "BASE_URL=$BASE_URL" -e "SUMMARY_DIR=$results" -e "AUTH_KEY_FILE=$AUTH_KEY_FILE" -e "AUTH_ISSUER=$AUTH_ISSUER" -e "AUTH_AUDIENCE=$AUTH_AUDIENCE" "$@" "$root/loadtest/scenarios/$scenario.js"
}

# Warm-up: pools filled, pages cached, a few hundred items to list.
log "warm-up: 5 s of creates"
k6_run fixed-concurrency -e OP=create -e VUS=4 -e DURATION=5s -e SEED_ITEMS=1 > /dev/null

root_sql() {
  mariadb --no-defaults --user=root --password="$(cat "$STACK_DIR/secrets/root/password")" \
    --socket="$STACK_DIR/mysql-$1/run/mysqld.sock" -N -B -e "$2"
}
# cpu_of PID: utime + stime of any process so far, in seconds.
cpu_of() { awk -v ticks="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / ticks }' "/proc/$1/stat"; }
db_counters=(Com_admin_commands Com_stmt_execute Com_stmt_prepare Com_begin Com_commit Com_rollback)
# counters N: NAME=value lines of MariaDB pod N's command counters.
counters() {
  root_sql "$1" "SHOW GLOBAL STATUS WHERE Variable_name IN ($(printf "'%s'," "${db_counters[@]}" | sed 's/,$//'))" \
    | awk '{ print $1 "=" $2 }'
}

# The raw floors: one in front of each database, as the APIs are.
log "starting the raw floor servers (services/bench-floor)"
read -r floor_read_port floor_write_port < <(python3 "$root/scripts/lib/free_ports.py" 2)
start_floor() { # start_floor PORT MYSQL_PORT ACCOUNT
  FLOOR_PORT=$1 FLOOR_DB_PORT=$2 FLOOR_DB_USER="$(cat "$STACK_DIR/secrets/$3/username")" \
    FLOOR_DB_PASSWORD="$(cat "$STACK_DIR/secrets/$3/password")" \
    "$root/target/release/bench-floor" > "$results/floor-$3.log" 2>&1 &
  floor_pids+=($!)
}
start_floor "$floor_read_port" "$STACK_MYSQL_1_PORT" catalog-reader
floor_read_pid=${floor_pids[-1]}
start_floor "$floor_write_port" "$STACK_MYSQL_0_PORT" catalog-writer
floor_write_pid=${floor_pids[-1]}
for port in "$floor_read_port" "$floor_write_port"; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/api/read/v1/items" && break; sleep 0.1; done
done

token=$("$root/scripts/catalog-token.py" mint --key "$AUTH_KEY_FILE" --issuer "$AUTH_ISSUER" \
  --audience "$AUTH_AUDIENCE" --subject bench --ttl 3600)
some_item=$(curl -fsS "http://127.0.0.1:$STACK_READ_API_PORT/api/read/v1/items?limit=1" | jq -r '.items[0].id')
root_sql 1 "SELECT MASTER_GTID_WAIT('$(root_sql 0 "SELECT @@gtid_binlog_pos")', 60)" | grep -qx 0
load_before_wrk=$(cut -d' ' -f1-3 /proc/loadavg)

# wrk_measure OP TARGET ROUND PID MYSQL_N URL [SCRIPT ARGUMENTS...]: wrk against URL (with a Lua
# script and its arguments); the server's and the database's CPU and the database's command
# counters around it, into $results/wrk-OP-TARGET-ROUND.*.
wrk_measure() {
  local op=$1 target=$2 round=$3 pid=$4 n=$5 url=$6; shift 6
  local -a script=()
  if [ $# -gt 0 ]; then script=(-s "$1"); shift; fi
  local mysqld before_server before_db
  mysqld=$(cat "$STACK_DIR/run/mysql-$n.pid")
  counters "$n" > "$results/wrk-$op-$target-$round.before"
  before_server=$(cpu_of "$pid"); before_db=$(cpu_of "$mysqld")
  wrk -t1 -c"$wrk_connections" -d"$wrk_duration" --latency "${script[@]}" "$url" -- "$@" \
    > "$results/wrk-$op-$target-$round.txt"
  {
    echo "cpu_server=$(difference "$(cpu_of "$pid")" "$before_server")"
    echo "cpu_db=$(difference "$(cpu_of "$mysqld")" "$before_db")"
  } > "$results/wrk-$op-$target-$round.env"
  counters "$n" > "$results/wrk-$op-$target-$round.after"
}
log "wrk: GET by id, list, create on the APIs and the floors, $wrk_connections connections, $wrk_rounds rounds of $wrk_duration"
declare -A read_base=([api]="http://127.0.0.1:$STACK_READ_API_PORT" [floor]="http://127.0.0.1:$floor_read_port")
declare -A write_base=([api]="http://127.0.0.1:$STACK_WRITE_API_PORT" [floor]="http://127.0.0.1:$floor_write_port")
declare -A read_pid=([api]="$(pid_of read-api)" [floor]="$floor_read_pid")
declare -A write_pid=([api]="$(pid_of write-api)" [floor]="$floor_write_pid")
for round in $(seq "$wrk_rounds"); do
  for op in get list create; do
    for t in api floor; do
      case $op in
        get) wrk_measure get "$t" "$round" "${read_pid[$t]}" 1 "${read_base[$t]}/api/read/v1/items/$some_item" ;;
        list) wrk_measure list "$t" "$round" "${read_pid[$t]}" 1 "${read_base[$t]}/api/read/v1/items?limit=20" ;;
        create) wrk_measure create "$t" "$round" "${write_pid[$t]}" 0 "${write_base[$t]}/api/write/v1/items" \
          "$root/loadtest/wrk/create.lua" "$token" "wrk-$t-$round-$(date +%s)" ;;
      esac
    done
  done
done
stop_floors
log "waiting for the replica to apply the creates"
root_sql 1 "SELECT MASTER_GTID_WAIT('$(root_sql 0 "SELECT @@gtid_binlog_pos")', 300)" | grep -qx 0

for op in get list create update; do
  log "$op: $vus VUs for $duration"
  before_w=$(cpu_seconds write-api); before_r=$(cpu_seconds read-api)
  k6_run fixed-concurrency -e "OP=$op" -e "VUS=$vus" -e "DURATION=$duration" -e SEED_ITEMS=$((vus * 2)) | tail -n +2
  {
    echo "cpu_write_api=$(difference "$(cpu_seconds write-api)" "$before_w")"
    echo "cpu_read_api=$(difference "$(cpu_seconds read-api)" "$before_r")"
    echo "peak_rss_kb_write_api=$(status_kb write-api VmHWM)"
    echo "peak_rss_kb_read_api=$(status_kb read-api VmHWM)"
  } > "$results/$op.env"
done

log "baseline: nginx static 200, $vus VUs for $duration"
k6_run fixed-concurrency -e OP=static -e "TARGET_URL=http://127.0.0.1:$STACK_BASELINE_PORT/" -e "VUS=$vus" \
  -e "DURATION=$duration" | tail -n +2

slap() { # slap PORT ACCOUNT QUERIES QUERY: mariadb-slap at $vus clients; prints seconds
  mariadb-slap --no-defaults --host=127.0.0.1 --port="$1" --user="$(cat "$STACK_DIR/secrets/$2/username")" \
    --password="$(cat "$STACK_DIR/secrets/$2/password")" --create-schema=catalog --no-drop \
    --concurrency="$vus" --iterations=1 --number-of-queries="$3" --query="$4" \
    | awk '/Average number of seconds/ { print $(NF-1) }'
}
log "baseline: MariaDB point-select (replica) and insert (primary), mariadb-slap, $vus clients over TCP"
some_id=$(root_sql 1 "SELECT HEX(id) FROM catalog.items ORDER BY RAND() LIMIT 1")
{
  echo "select_queries=40000"
  echo "select_seconds=$(slap "$STACK_MYSQL_1_PORT" catalog-reader 40000 "SELECT * FROM items WHERE id = UNHEX('$some_id')")"
  echo "insert_queries=8000"
  echo "insert_seconds=$(slap "$STACK_MYSQL_0_PORT" catalog-writer 8000 \
    "INSERT INTO items VALUES (UNHEX(REPLACE(UUID(), '-', '')), CONCAT('slap-', UUID()), 'Baseline', NULL, 100, 'EUR', 1, 1, NOW(3), NOW(3))")"
} > "$results/mariadb.env"
cat "$results/mariadb.env"
log "waiting for the replica to apply the baseline's inserts"
root_sql 1 "SELECT MASTER_GTID_WAIT('$(root_sql 0 "SELECT @@gtid_binlog_pos")', 300)" | grep -qx 0

log "write burst (write-burst.js, up to 150 writes/s) with replica lag sampled every 0.25 s"
lag_sampler() {
  # Transactions the replica has not applied yet (GTID sequence numbers, domain 0; the primary is
  # read first, so this is a lower bound), and Seconds_Behind_Master, until the burst ends.
  while [ ! -e "$results/burst.done" ]; do
    local primary replica behind behind_transactions
    primary=$(root_sql 0 "SELECT SUBSTRING_INDEX(@@gtid_binlog_pos, '-', -1)")
    replica=$(root_sql 1 "SELECT SUBSTRING_INDEX(@@gtid_slave_pos, '-', -1)")
    behind=$(mariadb --no-defaults --user=root --password="$(cat "$STACK_DIR/secrets/root/password")" \
      --socket="$STACK_DIR/mysql-1/run/mysqld.sock" -e 'SHOW SLAVE STATUS\G' | awk '/Seconds_Behind_Master/ { print $2 }')
    behind_transactions=$((primary - replica))
    echo "$((behind_transactions > 0 ? behind_transactions : 0)) $behind"
    sleep 0.25
  done > "$results/lag.txt"
}
lag_sampler &
sampler=$!
burst_status=0
k6_run write-burst -e PEAK_RATE=150 -e RAMP=5s -e HOLD=20s | tail -n +2 || burst_status=$?
touch "$results/burst.done"
wait "$sampler"
sleep 3 # one more scrape of the read-api's consistency-wait histogram
curl -fsS "$PROMETHEUS_URL/api/v1/query" --data-urlencode \
  'query=histogram_quantile(0.99, sum by (le) (increase(catalog_consistency_wait_duration_seconds_bucket{outcome="reached"}[1m])))' \
  > "$results/consistency-p99.json"
curl -fsS "$PROMETHEUS_URL/api/v1/query" --data-urlencode \
  'query=histogram_quantile(0.5, sum by (le) (increase(catalog_consistency_wait_duration_seconds_bucket{outcome="reached"}[1m])))' \
  > "$results/consistency-p50.json"
echo "burst_k6_status=$burst_status" > "$results/burst.env"

{
  echo "cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "cpus=$(nproc)"
  echo "mem_total_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "mariadb=$(mariadbd --version | awk '{ print $3 }')"
  echo "nginx=$(nginx -v 2>&1 | sed 's|.*/||')"
  echo "k6=$(k6 version | awk '{ print $2 }')"
  echo "wrk=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
  echo "wrk_connections=$wrk_connections"
  echo "wrk_rounds=$wrk_rounds"
  echo "wrk_duration=$wrk_duration"
  echo "load_start=$load_start"
  echo "load_before_wrk=$load_before_wrk"
  echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "vus=$vus"
  echo "duration=$duration"
  echo "commit=$(git -C "$root" rev-parse --short HEAD)"
} > "$results/machine.env"

python3 "$root/scripts/local-stack/bench-report.py" "$results" > "$out"
cat "$out"
log "wrote $out"
