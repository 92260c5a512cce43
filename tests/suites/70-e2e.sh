#!/usr/bin/env bash
# End to end, against the local stack (scripts/local-stack/stack.sh: the charts' own scripts, the
# Ingress's paths, the rules) started on free ports in a temp dir and stopped at the end:
#   - CRUD and read-your-writes through the proxy, Ingress prefix semantics;
#   - reads hit the replica and writes the primary (each server's Com_select / Com_insert);
#   - k6 smoke and a short read-heavy run, with their SLO thresholds;
#   - every PromQL expression of every dashboard panel and rule returns series on that data, or is
#     listed in tests/e2e/expected-empty.txt with its reason (plus a negative control);
#   - stopping the replica's SQL thread makes MySQLReplicationSQLThreadStopped pending/firing;
#   - a short HPA dry run shows scale-out for both APIs;
#   - `stack.sh restart` of each API under a read and a create load fails no request; an API
#     answers /readyz 503 while it drains and still serves;
#   - the errors nginx answers itself (TRACE, oversized header or request line, no route, an API
#     down) are problem+json, and an API's own errors pass through;
#   - `down` leaves no process behind.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$repo/bin:$repo/.venv/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/catalog-e2e.XXXXXX")
export STACK_DIR="$work/stack" STACK_PORTS=free STACK_SCRAPE_INTERVAL=1s STACK_EVALUATION_INTERVAL=1s
stack="$repo/scripts/local-stack/stack.sh"

cleanup() {
  "$stack" down > /dev/null 2>&1 || true
  if [ "${KEEP_TEST_DIR:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh"

for tool in mariadbd prometheus promtool prometheus-mysqld-exporter nginx k6 helm cargo curl jq python3 shellcheck; do
  command -v "$tool" > /dev/null || { echo "missing tool: $tool (run scripts/install-tools.sh)" >&2; exit 1; }
done

step "shellcheck"
check "stack, dry run, bench and this suite" shellcheck -x "$repo"/scripts/local-stack/*.sh "$repo/tests/suites/70-e2e.sh"

step "the stack comes up (free ports, $STACK_DIR)"
if ! "$stack" up > "$work/up.log" 2>&1; then
  cat "$work/up.log"; tail -n 30 "$STACK_DIR"/logs/*.log 2>/dev/null; exit 1
fi
grep '^\[stack\]' "$work/up.log" | sed 's/^/     /'
ok "stack up"
# shellcheck source=/dev/null
. "$STACK_DIR/stack.env"
check "up again is a no-op while everything runs" grep -q "already up" <("$stack" up)
# write-api requires a bearer token (docs/auth.md): the stack's issuer signs one for this suite.
authorization="Authorization: Bearer $("$stack" token e2e)"

step "the printed curl line creates an item and reads it back through the read path"
curl_line=$(grep -E '^  curl ' "$work/up.log" | sed 's/^  //')
check "curl line: create, then read with the consistency token" \
  bash -c "cd '$work' && $(sed -e "s#/tmp/#$work/#g" -e "s#scripts/#$repo/scripts/#g" <<< "$curl_line") | jq -e '.version == 1 and .currency == \"EUR\"'"
check "README.md shows the same curl line (default proxy port 8880)" \
  grep -qxF -- "${curl_line//127.0.0.1:$STACK_PROXY_PORT/127.0.0.1:8880}" "$repo/README.md"

step "CRUD and read-your-writes through the proxy"
api() { # api METHOD PATH [curl args...]: prints the status, headers to $work/h, body to $work/b
  local method=$1 path=$2; shift 2
  [[ $path == /api/write/* ]] && set -- -H "$authorization" "$@"
  curl -sS -X "$method" -D "$work/h" -o "$work/b" -w '%{http_code}' "$@" "$BASE_URL$path"
}
header() { sed -n "s/^$1: *//Ip" "$work/h" | tr -d '\r'; }
sku="e2e-$RANDOM$RANDOM"
check_eq "POST /api/write/v1/items -> 201" 201 api POST /api/write/v1/items -H 'Content-Type: application/json' \
  -d "{\"sku\":\"$sku\",\"name\":\"End to end\",\"price_cents\":1250,\"currency\":\"EUR\",\"stock\":5}"
id=$(jq -r .id "$work/b")
token=$(header X-Consistency-Token)
check_eq "  Location points at the read path" "/api/read/v1/items/$id" header Location
check "  X-Consistency-Token is a GTID" grep -Eq '^[0-9]+-[0-9]+-[0-9]+' <<< "$token"
check_eq "GET with the token (replica) -> 200" 200 api GET "/api/read/v1/items/$id" -H "X-Consistency-Token: $token"
check_eq "  the same item" "$sku 1" jq -r '"\(.sku) \(.version)"' "$work/b"
check_eq "PATCH with If-Match \"1\" -> 200" 200 api PATCH "/api/write/v1/items/$id" \
  -H 'Content-Type: application/merge-patch+json' -H 'If-Match: "1"' -d '{"stock":7,"description":"patched"}'
token=$(header X-Consistency-Token)
check_eq "PATCH with a stale If-Match -> 412" 412 api PATCH "/api/write/v1/items/$id" \
  -H 'Content-Type: application/merge-patch+json' -H 'If-Match: "1"' -d '{"stock":8}'
check_eq "GET with the PATCH's token sees version 2" 200 api GET "/api/read/v1/items/$id" -H "X-Consistency-Token: $token"
check_eq "  stock 7, description set" "2 7 patched" jq -r '"\(.version) \(.stock) \(.description)"' "$work/b"
check_eq "list by SKU (case-insensitive) finds it" 200 api GET "/api/read/v1/items?sku=${sku^^}"
check_eq "  one item" "$id" jq -r '.items | map(.id) | join(",")' "$work/b"
check_eq "DELETE -> 204" 204 api DELETE "/api/write/v1/items/$id"
token=$(header X-Consistency-Token)
check_eq "GET with the DELETE's token -> 404" 404 api GET "/api/read/v1/items/$id" -H "X-Consistency-Token: $token"
check_eq "malformed consistency token -> 400" 400 api GET "/api/read/v1/items/$id" -H "X-Consistency-Token: nonsense"
check_eq "Ingress prefix: /api/readx is not the read-api -> 404" 404 api GET /api/readx/v1/items
check_eq "POST without a bearer token -> 401" 401 curl -sS -o "$work/b" -w '%{http_code}' \
  -H 'Content-Type: application/json' -d "{\"sku\":\"$sku-anon\"}" "$BASE_URL/api/write/v1/items"
check_eq "  problem type unauthorized" /problems/unauthorized jq -r .type "$work/b"
# The token's subject is in write-api's request log lines; the token itself is nowhere in them.
subject_logged() { grep '"request completed"' "$STACK_DIR/logs/write-api.log" | grep -q '"subject":"e2e"'; }
check "write-api's request log lines carry the token's subject" subject_logged
check "  and never the token" bash -c "! grep -qF '${authorization#Authorization: Bearer }' '$STACK_DIR'/logs/*.log"
check_eq "no route outside the Ingress paths -> 404" 404 api GET /healthz

step "reads hit the replica, writes the primary (server counters)"
root_sql() { # root_sql N STATEMENT: as root over mysql-N's local socket
  mariadb --no-defaults --user=root --password="$(cat "$STACK_DIR/secrets/root/password")" \
    --socket="$STACK_DIR/mysql-$1/run/mysqld.sock" -N -B -e "$2"
}
counter() { root_sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" | cut -f2; }
app_version=$(chart_mariadb_version)
for n in 0 1; do
  version=$(root_sql "$n" 'SELECT VERSION()')
  echo "     mysql-$n: SELECT VERSION() = $version (chart appVersion $app_version)"
  check "mysql-$n runs the chart's MariaDB series (${app_version%.*})" same_series "$version" "$app_version"
done
seed_id=$(curl -fsS -H "$authorization" -H 'Content-Type: application/json' \
  -d "{\"sku\":\"$sku-seed\",\"name\":\"Seed\",\"price_cents\":1,\"currency\":\"EUR\",\"stock\":1}" \
  "$BASE_URL/api/write/v1/items" | jq -r .id)
sleep 1
select0=$(counter 0 Com_select); select1=$(counter 1 Com_select)
insert0=$(counter 0 Com_insert); insert1=$(counter 1 Com_insert)
reads=60 writes=20
for _ in $(seq "$reads"); do curl -fsS -o /dev/null "$BASE_URL/api/read/v1/items/$seed_id"; done
for i in $(seq "$writes"); do
  curl -fsS -o /dev/null -H "$authorization" -H 'Content-Type: application/json' \
    -d "{\"sku\":\"$sku-w$i\",\"name\":\"Write $i\",\"price_cents\":1,\"currency\":\"EUR\",\"stock\":1}" "$BASE_URL/api/write/v1/items"
done
d_select0=$(( $(counter 0 Com_select) - select0 )); d_select1=$(( $(counter 1 Com_select) - select1 ))
d_insert0=$(( $(counter 0 Com_insert) - insert0 )); d_insert1=$(( $(counter 1 Com_insert) - insert1 ))
echo "     $reads GETs, $writes POSTs: mysql-0 Com_select +$d_select0 Com_insert +$d_insert0; mysql-1 Com_select +$d_select1 Com_insert +$d_insert1"
check "replica (mysql-1) ran at least one SELECT per GET" test "$d_select1" -ge "$reads"
check "primary (mysql-0) did not serve the GETs" test "$d_select0" -lt $((reads / 2))
check "primary ran one INSERT per POST" test "$d_insert0" -ge "$writes"
# The replica's Com_insert follows the primary's (its SQL thread applies the same inserts), so the
# connections say who the clients are: each API's account is connected to its own server only.
connections() { root_sql "$1" "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '$2'"; }
check "write-api's catalog_writer is connected to the primary" test "$(connections 0 catalog_writer)" -gt 0
check_eq "  and not to the replica" 0 connections 1 catalog_writer
check "read-api's catalog_reader is connected to the replica" test "$(connections 1 catalog_reader)" -gt 0
check_eq "  and not to the primary" 0 connections 0 catalog_reader

step "k6 smoke (SLO thresholds)"
k6_run() { # k6_run SCENARIO [-e NAME=value...]
  local scenario=$1; shift
  k6 run --quiet -e "BASE_URL=$BASE_URL" -e "SUMMARY_DIR=$work" -e "AUTH_KEY_FILE=$AUTH_KEY_FILE" -e "AUTH_ISSUER=$AUTH_ISSUER" -e "AUTH_AUDIENCE=$AUTH_AUDIENCE" "$@" "$repo/loadtest/scenarios/$scenario.js"
}
check "smoke.js passes its thresholds" k6_run smoke
sed -n '/^smoke:/,$p' "$work/out" | sed 's/^/     /'
check "  and wrote its JSON summary" jq -e '.metrics.checks.values.rate == 1' "$work/smoke-summary.json"

step "k6 read-heavy, short (90/10 at a constant arrival rate)"
check "read-heavy.js at 40/s for 20s passes its thresholds" k6_run read-heavy -e RATE=40 -e DURATION=20s -e SEED_ITEMS=20
sed -n '/^read-heavy:/,$p' "$work/out" | grep -E 'http_reqs|kind:' | sed 's/^/     /'

step "every dashboard panel and rule on the live data (Prometheus $PROMETHEUS_URL)"
sleep 3 # the last scrape and rule evaluation after the load
dashboards=("$repo"/charts/catalog/dashboards/*.json)
check "${#dashboards[@]} dashboards, $(find "$STACK_DIR/rendered/rules" -name '*.yaml' | wc -l) rule files" \
  python3 "$repo/tests/e2e/promql_live.py" "$PROMETHEUS_URL" "$STACK_DIR/rendered/rules" "$repo/tests/e2e/expected-empty.txt" "${dashboards[@]}"
grep -E '^(empty|FAIL)|expressions:' "$work/out" | sed 's/^/     /'
# Negative control: a panel with a misspelt metric, and one listed as empty whose metric is absent.
jq '.panels[0].targets[0].expr = "sum(catalog_raedy)"' "$repo/charts/catalog/dashboards/service-red.json" > "$work/broken.json"
if python3 "$repo/tests/e2e/promql_live.py" "$PROMETHEUS_URL" "$STACK_DIR/rendered/rules" "$repo/tests/e2e/expected-empty.txt" "$work/broken.json" > "$work/neg" 2>&1; then
  not_ok "negative control: a misspelt metric went unnoticed"
else
  check "negative control: a misspelt metric fails the check" grep -q 'FAIL   catalog-red:1:A: no series' "$work/neg"
fi
alerts() { curl -fsS "$PROMETHEUS_URL/api/v1/alerts" | jq -r '.data.alerts[] | "\(.labels.alertname) \(.labels.pod // "-") \(.state)"'; }
check_eq "no alert pending or firing on the healthy stack" "" alerts

step "stopping the replica's SQL thread raises MySQLReplicationSQLThreadStopped"
root_sql 1 "STOP SLAVE SQL_THREAD"
sql_alert() { alerts | grep -Eq '^MySQLReplicationSQLThreadStopped mysql-1 (pending|firing)$'; }
deadline=$((SECONDS + 30))
until sql_alert || [ $SECONDS -ge $deadline ]; do sleep 1; done
check "alert pending/firing for mysql-1 within 30 s" sql_alert
alerts | sed 's/^/     /'
root_sql 1 "START SLAVE SQL_THREAD"
deadline=$((SECONDS + 30))
until ! sql_alert || [ $SECONDS -ge $deadline ]; do sleep 1; done
sql_alert_gone() { ! sql_alert; }
check "alert resolves once the SQL thread runs again" sql_alert_gone

step "HPA dry run (short): both APIs past their CPU target with the local values"
check "hpa scenario at up to 100/s: the HPA would scale out both APIs" \
  env PEAK_RATE=100 RAMP=10s HOLD=15s RAMP_DOWN=5s SEED_ITEMS=20 SAMPLE_SECONDS=5 "$repo/scripts/local-stack/hpa-dry-run.sh"
grep -E 'would ask|CPU, target' "$work/out" | sed 's/^/     /'

step "stack.sh restart of each API under load: no request fails"
read_load() {
  while [ ! -e "$work/stop-load" ]; do
    curl -s -o /dev/null -w '%{http_code}\n' "$BASE_URL/api/read/v1/items/$seed_id" >> "$work/read-load" || true
  done
}
write_load() {
  local i=0
  while [ ! -e "$work/stop-load" ]; do
    i=$((i + 1))
    curl -s -o /dev/null -w '%{http_code}\n' -H "$authorization" -H 'Content-Type: application/json' \
      -d "{\"sku\":\"$sku-load$i\",\"name\":\"Load\",\"price_cents\":1,\"currency\":\"EUR\",\"stock\":1}" \
      "$BASE_URL/api/write/v1/items" >> "$work/write-load" || true
  done
}
read_load & read_load_pid=$!
write_load & write_load_pid=$!
check "stack.sh restart write-api" "$stack" restart write-api
check "stack.sh restart read-api" "$stack" restart read-api
touch "$work/stop-load"; wait "$read_load_pid" "$write_load_pid"
failures() { grep -cv '^20[01]$' "$1" || true; }
echo "     during the restarts: $(wc -l < "$work/read-load") reads, $(failures "$work/read-load") failed;" \
  "$(wc -l < "$work/write-load") creates, $(failures "$work/write-load") failed ($(sort "$work/read-load" "$work/write-load" | uniq -c | tr -s ' \n' ' '))"
check_eq "no read failed" 0 failures "$work/read-load"
check_eq "no create failed" 0 failures "$work/write-load"

step "SIGTERM drains: read-api answers /readyz 503 while it still serves, then \`up\` restarts it"
read_api_pid=$(cat "$STACK_DIR/run/read-api.pid")
kill -TERM "$read_api_pid"
draining() { [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$STACK_READ_API_PORT/readyz")" = 503 ]; }
check "/readyz answers 503 within 2 s of SIGTERM" wait_until 2 draining
served=0 failed_reads=0
# A read that fails once the drain is over (the listener closed between the readiness check and
# the read) is the end of the window, not a failure within it: only failures while /readyz still
# answers 503 count.
while kill -0 "$read_api_pid" 2>/dev/null && draining; do
  if curl -fsS -o /dev/null "$BASE_URL/api/read/v1/items/$seed_id" 2>/dev/null; then
    served=$((served + 1))
  elif draining; then
    failed_reads=$((failed_reads + 1))
  fi
done
echo "     while draining: $served reads served through the proxy, $failed_reads failed"
check "reads are served through the proxy while /readyz says 503" test "$served" -gt 0
check_eq "  ...none failed" 0 echo "$failed_reads"
check "read-api exits after the drain" wait_until 10 bash -c "! kill -0 $read_api_pid"
check "stack.sh up starts it again" "$stack" up
check_eq "reads work again" 200 api GET "/api/read/v1/items/$seed_id"

step "errors nginx answers itself are problem+json"
problem_json() { # problem_json STATUS curl args...: that status, problem+json, the same status in the body
  local want=$1 status; shift
  status=$(curl -sS -D "$work/h" -o "$work/b" -w '%{http_code}' "$@")
  if [ "$status" != "$want" ] || [ "$(header Content-Type)" != application/problem+json ] \
    || ! jq -e --argjson s "$want" '.status == $s and (.type | startswith("/problems/"))' "$work/b" > /dev/null 2>&1; then
    echo "status $status, $(header Content-Type): $(head -c 300 "$work/b")"
    return 1
  fi
}
check "TRACE -> 405 problem+json" problem_json 405 -X TRACE "$BASE_URL/api/read/v1/items"
check "an oversized header -> 400 problem+json" problem_json 400 -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$BASE_URL/api/read/v1/items"
check "an oversized request line -> 414 problem+json" problem_json 414 "$BASE_URL/api/read/v1/items?q=$(head -c 20000 /dev/zero | tr '\0' a)"
check "no route -> 404 problem+json" problem_json 404 "$BASE_URL/nowhere"
kill -TERM "$(cat "$STACK_DIR/run/write-api.pid")"
write_api_gone() { ! kill -0 "$(cat "$STACK_DIR/run/write-api.pid")" 2>/dev/null; }
wait_until 15 write_api_gone
check "an API down -> 502 problem+json" problem_json 502 -X DELETE "$BASE_URL/api/write/v1/items/1"
check "  ...an API's own errors pass through untouched (its problem type)" problem_json 404 "$BASE_URL/api/read/v1/items/00000000-0000-0000-0000-000000000000"
check_eq "  ...with the API's own type" /problems/not-found jq -r .type "$work/b"

step "down stops everything"
check "stack.sh down" "$stack" down
check "stack.sh down again (idempotent)" "$stack" down
leftovers() { pgrep -af -- "$work" | grep -v pgrep || true; }
check_eq "no process of the stack is left" "" leftovers

echo
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
