#!/usr/bin/env bash
# The whole product on this machine, as real processes wired like the cluster (docs/local-stack.md):
#
#   scripts/local-stack/stack.sh up       build, start everything in dependency order, print ports
#   scripts/local-stack/stack.sh down     stop every process the stack started (data is kept)
#   scripts/local-stack/stack.sh status   which processes run
#   scripts/local-stack/stack.sh restart write-api|read-api   rolling restart, no request lost
#   scripts/local-stack/stack.sh token [SUBJECT]   a bearer token for write-api (10 minutes)
#   scripts/local-stack/stack.sh clean    down, then delete the state directory (data, logs)
#
# Everything comes from the charts, rendered with the `local` environment values:
#   mysql-0 (primary) and mysql-1 (replica): the mysql chart's configure.sh, bootstrap.sh,
#     run-mariadbd.sh and probe.sh, run with the pod's rendered env (paths and ports made local);
#   mysqld-exporter per server, with the sidecar's rendered arguments;
#   `write-api migrate` as catalog_migrator, write-api -> primary, read-api -> replica;
#   nginx with one location per path of the rendered Ingress;
#   Prometheus with the rendered PrometheusRules, series labelled as the ServiceMonitors label them.
#
# Environment (all optional):
#   STACK_DIR            state directory (default .state/local-stack): data, logs, pid files, stack.env
#   STACK_PORTS=free     pick free loopback ports instead of the documented defaults (tests)
#   STACK_PROXY_PORT ... each port, see docs/local-stack.md; remembered in stack.env across restarts
#   STACK_PROFILE        cargo profile of the APIs: debug (default) or release
#   STACK_SCRAPE_INTERVAL, STACK_EVALUATION_INTERVAL  Prometheus intervals (default 15s)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$root/bin:$root/.venv/bin:$PATH"
state=${STACK_DIR:-$root/.state/local-stack}
mkdir -p "$state"
state=$(cd "$state" && pwd)
run="$state/run"
logs="$state/logs"
profile=${STACK_PROFILE:-debug}
# The services' names as in the cluster: Prometheus labels and the rules' selectors use them.
namespace=catalog
release=catalog

# shellcheck source=scripts/lib/common.sh
. "$root/scripts/lib/common.sh"
# The MariaDB pods: mysql-N/, secrets/ and run/mysql-N.pid under the state directory.
# shellcheck source=scripts/lib/mysql-pods.sh
. "$root/scripts/lib/mysql-pods.sh"
mysql_state=$state

log() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

port_names=(PROXY PROMETHEUS MYSQL_0 MYSQL_1 EXPORTER_0 EXPORTER_1 WRITE_API WRITE_ADMIN READ_API READ_ADMIN BASELINE
  WRITE_SURGE READ_SURGE)
declare -A default_port=(
  [PROXY]=8880 [PROMETHEUS]=9390 [MYSQL_0]=3316 [MYSQL_1]=3317 [EXPORTER_0]=9114 [EXPORTER_1]=9115
  [WRITE_API]=8881 [WRITE_ADMIN]=9471 [READ_API]=8882 [READ_ADMIN]=9472 [BASELINE]=8889
  [WRITE_SURGE]=8883 [READ_SURGE]=8884
)

# choose_ports: stack.env's ports when the stack ran before (the replica's CHANGE MASTER names the
# primary's port), else STACK_<NAME>_PORT, else free ports or the defaults.
choose_ports() {
  if [ -f "$state/stack.env" ]; then
    # shellcheck source=/dev/null
    . "$state/stack.env"
    return
  fi
  local -a free=()
  [ "${STACK_PORTS:-}" != free ] || read -r -a free < <(free_ports "${#port_names[@]}")
  local i name var
  for i in "${!port_names[@]}"; do
    name=${port_names[$i]}
    var="STACK_${name}_PORT"
    printf -v "$var" '%s' "${!var:-${free[$i]:-${default_port[$name]}}}"
  done
}

write_stack_env() {
  local name var
  {
    for name in "${port_names[@]}"; do var="STACK_${name}_PORT"; echo "$var=${!var}"; done
    echo "STACK_DIR=$state"
    echo "STACK_BIN_DIR=$bins"
    echo "BASE_URL=http://127.0.0.1:$STACK_PROXY_PORT"
    echo "PROMETHEUS_URL=http://127.0.0.1:$STACK_PROMETHEUS_PORT"
    # What the k6 scenarios sign their tokens with (loadtest/lib/auth.js).
    echo "AUTH_KEY_FILE=$(auth_dir)/private.pem"
    echo "AUTH_ISSUER=$auth_issuer"
    echo "AUTH_AUDIENCE=$auth_audience"
  } > "$state/stack.env"
}

# --- processes: each in its own session (pid = process group), pid file in $run, log in $logs

pid_of() { [ -f "$run/$1.pid" ] && cat "$run/$1.pid"; }
running() { local pid; pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null; }

# start NAME command...: starts the command in the background, unless it runs already.
start() {
  local name=$1; shift
  running "$name" && return 0
  setsid "$@" >> "$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/$name.pid"
}

stop() {
  local name=$1 pid
  pid=$(pid_of "$name") || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    wait_until 30 bash -c "! kill -0 $pid" || kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$run/$name.pid"
}

# In reverse dependency order.
processes=(prometheus nginx read-api write-api exporter-1 exporter-0 mysql-1 mysql-0)

# --- rendering

render() {
  local work="$state/rendered"
  rm -rf "$work"
  mkdir -p "$work"
  bash "$root/scripts/lib/offline-chart.sh" "$work/charts" > /dev/null
  # helmfile's layering for the catalog release: values/common.yaml, then values/local.yaml (catalog:).
  python3 "$root/scripts/local-stack/merge_values.py" catalog "$root/values/common.yaml" "$root/values/local.yaml" \
    > "$work/local-values.yaml"
  # kube-prometheus-stack is remote (unreachable here): Prometheus runs as a process instead.
  helm template "$release" "$work/charts/catalog" --namespace "$namespace" -f "$work/local-values.yaml" \
    --set kube-prometheus-stack.enabled=false > "$work/catalog.yaml"
  mysql_extract "$work/catalog.yaml" mysql
  python3 "$root/scripts/local-stack/render.py" "$work/catalog.yaml" "$work"
}

# --- MariaDB pods (scripts/lib/mysql-pods.sh: the mysql chart's own scripts)

# start_mysql N: init containers (configure, bootstrap), then mariadbd; waits for readiness.
start_mysql() {
  local n=$1 name="mysql-$1"
  running "$name" && { log "$name runs already"; return; }
  mysql_new_pod "$n" "$(port_of_mysql "$n")"
  log "$name: configure.sh, bootstrap.sh (chart scripts)"
  mysql_start_pod "$n" 2>&1 || die "$name did not start (see $logs/$name-init.log, $logs/$name.log)"
  wait_until 120 mysql_in_pod "$n" -- probe.sh ready || { tail -n 30 "$logs/$name.log"; die "$name did not become ready"; }
  log "$name ready on 127.0.0.1:$(port_of_mysql "$n")"
}
port_of_mysql() { local var="STACK_MYSQL_$1_PORT"; echo "${!var}"; }

start_exporter() {
  local n=$1 listen_var="STACK_EXPORTER_$1_PORT"
  local -a args
  mapfile -t args < <(mysql_exporter_args "$n" "${!listen_var}")
  start "exporter-$n" prometheus-mysqld-exporter "${args[@]}"
  wait_until 30 curl -fsS "http://127.0.0.1:${!listen_var}/metrics" || die "exporter-$n did not start (see $logs/exporter-$n.log)"
}

# --- the APIs

build() {
  local -a flags=()
  [ "$profile" = release ] && flags=(--release)
  log "building write-api and read-api (cargo, $profile profile)"
  cargo build --quiet "${flags[@]}" --bins -p write-api -p read-api --manifest-path "$root/Cargo.toml"
}

# On SIGTERM an API answers /readyz 503 but keeps serving for the drain delay, as in the chart
# (which waits 5 s for endpoints to be removed everywhere; one proxy here needs less).
: "${STACK_DRAIN_DELAY_MS:=2000}"

# app_env API_PORT ADMIN_PORT DB_PORT ACCOUNT: the pod's environment, loopback for the Services.
app_env() {
  printf '%s\n' "CATALOG__SERVER__HOST=127.0.0.1" "CATALOG__SERVER__PORT=$1" "CATALOG__SERVER__ADMIN_PORT=$2" \
    "CATALOG__DATABASE__HOST=127.0.0.1" "CATALOG__DATABASE__PORT=$3" \
    "CATALOG__DATABASE__USER=$(cat "$state/secrets/$4/username")" \
    "CATALOG__DATABASE__PASSWORD_FILE=$state/secrets/$4/password" \
    "CATALOG__SHUTDOWN__DRAIN_DELAY_MS=$STACK_DRAIN_DELAY_MS" "CATALOG__SHUTDOWN__GRACE_PERIOD_MS=5000"
}

# The stack's token issuer (docs/auth.md): a key pair made once per state directory; write-api
# checks tokens against its public half, `stack.sh token` and the k6 scenarios sign with the other.
auth_dir() { echo "$state/secrets/auth"; }
auth_issuer=catalog-local
auth_audience=catalog
make_auth_keys() {
  [ -s "$(auth_dir)/public.pem" ] && return 0
  log "token issuer: a new key pair in $(auth_dir)"
  python3 "$root/scripts/catalog-token.py" keys "$(auth_dir)" > /dev/null
}
auth_env() {
  printf '%s\n' "CATALOG__AUTH__ISSUER=$auth_issuer" "CATALOG__AUTH__AUDIENCE=$auth_audience" \
    "CATALOG__AUTH__ALGORITHM=ES256" "CATALOG__AUTH__PUBLIC_KEY_FILE=$(auth_dir)/public.pem"
}

# start_api NAME API_PORT ADMIN_PORT DB_PORT ACCOUNT [BINARY]: BINARY defaults to NAME.
start_api() {
  local name=$1 api_port=$2 admin_port=$3 db_port=$4 account=$5 binary=${6:-$1}
  local -a envs
  mapfile -t envs < <(app_env "$api_port" "$admin_port" "$db_port" "$account")
  # write-api requires tokens (its default); read-api stays public.
  [ "$binary" = write-api ] && mapfile -t -O "${#envs[@]}" envs < <(auth_env)
  running "$name" && return 0
  # The time from process start to ready is one of the bench's figures: the poller (every 1 ms)
  # is up before the process starts, so its own start-up is not counted.
  local poll started ready_at
  exec {poll}< <(python3 "$root/scripts/lib/ready_poller.py" "http://127.0.0.1:$api_port/readyz" 60)
  read -r _ <&"$poll"
  # EPOCHREALTIME without its decimal point: microseconds.
  started=${EPOCHREALTIME//[.,]/}
  start "$name" env "${envs[@]}" "$bins/$binary"
  if ! read -r ready_at <&"$poll"; then
    tail -n 20 "$logs/$name.log"
    die "$name not ready within 60 s"
  fi
  exec {poll}<&-
  local ready_ms=$(((ready_at - started) / 1000))
  echo "$ready_ms" > "$run/$name.ready-ms"
  log "$name ready on 127.0.0.1:$api_port (metrics :$admin_port) ${ready_ms} ms after start"
}

# --- nginx: the Ingress's paths, plus a separate static server (the bench's HTTP baseline)

start_nginx() {
  mkdir -p "$state/nginx"
  cat > "$state/nginx/nginx.conf" <<CONF
# Generated by scripts/local-stack/stack.sh from the rendered Ingress; do not edit.
daemon off;
worker_processes 1;
pid $state/nginx/nginx.pid;
error_log $logs/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log $logs/nginx-access.log;
  client_body_temp_path $state/nginx/body;
  proxy_temp_path $state/nginx/proxy;
  fastcgi_temp_path $state/nginx/fastcgi;
  uwsgi_temp_path $state/nginx/uwsgi;
  scgi_temp_path $state/nginx/scgi;
  # Each API, and its surge instance (stack.sh restart) as a backup that gets requests only while
  # the API does not answer. max_fails=0: the API is tried first again as soon as it is back.
  # Idle pooled connections are closed by nginx within half the APIs' drain delay, so none is
  # left for a draining API to close under a request (docs/api.md, "Health, shutdown").
  upstream write_api {
    server 127.0.0.1:$STACK_WRITE_API_PORT max_fails=0;
    server 127.0.0.1:$STACK_WRITE_SURGE_PORT max_fails=0 backup;
    keepalive 16;
    keepalive_timeout $((STACK_DRAIN_DELAY_MS / 2))ms;
  }
  upstream read_api {
    server 127.0.0.1:$STACK_READ_API_PORT max_fails=0;
    server 127.0.0.1:$STACK_READ_SURGE_PORT max_fails=0 backup;
    keepalive 16;
    keepalive_timeout $((STACK_DRAIN_DELAY_MS / 2))ms;
  }
  # The errors nginx answers itself (unknown route, TRACE, oversized request line or headers, an
  # API down) are problem+json like the APIs' own; the APIs' answers pass through untouched
  # (proxy_intercept_errors is off). error_page without "=" keeps the status.
  map \$status \$problem_type {
    default /problems/proxy-error;
    400 /problems/bad-request; 414 /problems/bad-request; 494 /problems/bad-request;
    404 /problems/not-found; 405 /problems/method-not-allowed; 413 /problems/payload-too-large;
    502 /problems/unavailable; 503 /problems/unavailable; 504 /problems/unavailable;
  }
  map \$status \$problem_title {
    default "Proxy Error"; 400 "Bad Request"; 404 "Not Found"; 405 "Method Not Allowed";
    408 "Request Timeout"; 411 "Length Required"; 413 "Content Too Large"; 414 "URI Too Long";
    494 "Request Header Too Large"; 500 "Internal Server Error"; 501 "Not Implemented";
    502 "Bad Gateway"; 503 "Service Unavailable"; 504 "Gateway Timeout";
  }
  server {
    listen 127.0.0.1:$STACK_PROXY_PORT;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    # A request that found an API gone (refused, reset, 502/503) goes to the next instance when
    # there is one; non-idempotent requests only when nginx never sent them (non_idempotent off).
    proxy_next_upstream error timeout http_502 http_503;
    error_page 400 404 405 408 411 413 414 494 500 501 502 503 504 /_problem;
    include $state/rendered/nginx-locations.conf;
    location / { return 404; }
    location = /_problem {
      internal;
      default_type application/problem+json;
      return 200 '{"type":"\$problem_type","title":"\$problem_title","status":\$status,"detail":"answered by the proxy","request_id":"\$request_id"}\n';
    }
  }
  server {
    listen 127.0.0.1:$STACK_BASELINE_PORT;
    access_log off;
    location / { return 200 "ok\n"; }
  }
}
CONF
  nginx -t -q -c "$state/nginx/nginx.conf" -p "$state/nginx" 2>> "$logs/nginx-error.log" \
    || die "nginx configuration invalid (see $logs/nginx-error.log)"
  start nginx nginx -c "$state/nginx/nginx.conf" -p "$state/nginx"
  wait_until 20 curl -fsS "http://127.0.0.1:$STACK_BASELINE_PORT/" || die "nginx did not start"
}

# --- Prometheus: static targets labelled as the ServiceMonitors' targets are in the cluster
# (job = Service name, namespace, service, pod), so the chart's rules and dashboards match.

start_prometheus() {
  local interval=${STACK_SCRAPE_INTERVAL:-15s} evaluation=${STACK_EVALUATION_INTERVAL:-15s}
  mkdir -p "$state/prometheus/data"
  cat > "$state/prometheus/prometheus.yml" <<YAML
# Generated by scripts/local-stack/stack.sh; do not edit.
global:
  scrape_interval: $interval
  evaluation_interval: $evaluation
rule_files:
  - $state/rendered/rules/*.yaml
scrape_configs:
  - job_name: $release-write-api
    static_configs:
      - targets: ["127.0.0.1:$STACK_WRITE_ADMIN_PORT"]
        labels: { namespace: $namespace, service: $release-write-api, pod: $release-write-api-0, container: write-api }
  - job_name: $release-read-api
    static_configs:
      - targets: ["127.0.0.1:$STACK_READ_ADMIN_PORT"]
        labels: { namespace: $namespace, service: $release-read-api, pod: $release-read-api-0, container: read-api }
  - job_name: mysql-headless
    static_configs:
      - targets: ["127.0.0.1:$STACK_EXPORTER_0_PORT"]
        labels: { namespace: $namespace, service: mysql-headless, pod: mysql-0, container: exporter }
      - targets: ["127.0.0.1:$STACK_EXPORTER_1_PORT"]
        labels: { namespace: $namespace, service: mysql-headless, pod: mysql-1, container: exporter }
YAML
  promtool check config "$state/prometheus/prometheus.yml" > "$logs/promtool.log" 2>&1 \
    || { cat "$logs/promtool.log"; die "Prometheus configuration invalid"; }
  start prometheus prometheus --config.file="$state/prometheus/prometheus.yml" \
    --storage.tsdb.path="$state/prometheus/data" --web.listen-address="127.0.0.1:$STACK_PROMETHEUS_PORT" \
    --web.enable-lifecycle
  wait_until 60 curl -fsS "http://127.0.0.1:$STACK_PROMETHEUS_PORT/-/ready" || die "Prometheus not ready (see $logs/prometheus.log)"
}

# --- commands

all_running() { local p; for p in "${processes[@]}"; do running "$p" || return 1; done; }

print_summary() {
  cat <<TXT

The catalog runs (state and logs in $state, logs: $logs/*.log).
  proxy (Ingress)   http://127.0.0.1:$STACK_PROXY_PORT   /api/write -> write-api, /api/read -> read-api
  Prometheus        http://127.0.0.1:$STACK_PROMETHEUS_PORT  (rules: $state/rendered/rules)
  write-api         127.0.0.1:$STACK_WRITE_API_PORT (metrics :$STACK_WRITE_ADMIN_PORT) -> mysql-0
  read-api          127.0.0.1:$STACK_READ_API_PORT (metrics :$STACK_READ_ADMIN_PORT) -> mysql-1
  mysql-0 primary   127.0.0.1:$STACK_MYSQL_0_PORT (exporter :$STACK_EXPORTER_0_PORT)
  mysql-1 replica   127.0.0.1:$STACK_MYSQL_1_PORT (exporter :$STACK_EXPORTER_1_PORT)

Create an item, then read it back from the replica with the write's consistency token:
  $(curl_line)

Stop: make down
TXT
}

curl_line() {
  local base="http://127.0.0.1:$STACK_PROXY_PORT"
  printf '%s' "curl -sS -D /tmp/created.h -o /tmp/created.json -H \"Authorization: Bearer \$(scripts/local-stack/stack.sh token)\" -H 'Content-Type: application/json' -d '{\"sku\":\"demo-'\$RANDOM'\",\"name\":\"Demo\",\"price_cents\":1999,\"currency\":\"EUR\",\"stock\":3}' $base/api/write/v1/items && curl -sS -H \"X-Consistency-Token: \$(sed -n 's/^x-consistency-token: *//Ip' /tmp/created.h | tr -d '\\r')\" $base/api/read/v1/items/\$(jq -r .id /tmp/created.json)"
}

up() {
  choose_ports
  bins="$root/target/$profile"
  mkdir -p "$run" "$logs"
  if all_running; then
    log "already up"
    print_summary
    return
  fi
  for tool in helm mariadbd mariadb prometheus-mysqld-exporter nginx prometheus promtool cargo curl jq; do
    command -v "$tool" > /dev/null || die "missing $tool: run make tools (scripts/install-tools.sh)"
  done
  build
  write_stack_env
  log "rendering the charts (environment local)"
  render
  mysql_make_secrets
  make_auth_keys
  start_mysql 0
  start_mysql 1
  start_exporter 0
  start_exporter 1
  log "write-api migrate (as catalog_migrator)"
  local -a envs
  mapfile -t envs < <(app_env 0 0 "$STACK_MYSQL_0_PORT" catalog-migrator)
  env "${envs[@]}" "$bins/write-api" migrate >> "$logs/migrate.log" 2>&1 || { tail -n 20 "$logs/migrate.log"; die "migration failed"; }
  start_api write-api "$STACK_WRITE_API_PORT" "$STACK_WRITE_ADMIN_PORT" "$STACK_MYSQL_0_PORT" catalog-writer
  start_api read-api "$STACK_READ_API_PORT" "$STACK_READ_ADMIN_PORT" "$STACK_MYSQL_1_PORT" catalog-reader
  start_nginx
  start_prometheus
  print_summary
}

# restart write-api|read-api: a rolling restart with a surge, as the Deployment does it. A second
# instance starts on the surge port (nginx's backup server for that API), the API is stopped (it
# drains: /readyz 503 while it still serves, then closes), started again, and the surge stopped.
restart() {
  local name=${1:-} surge_port db_port account api_port admin_port
  choose_ports
  bins="$root/target/$profile"
  case $name in
    write-api) surge_port=$STACK_WRITE_SURGE_PORT api_port=$STACK_WRITE_API_PORT admin_port=$STACK_WRITE_ADMIN_PORT
      db_port=$STACK_MYSQL_0_PORT account=catalog-writer ;;
    read-api) surge_port=$STACK_READ_SURGE_PORT api_port=$STACK_READ_API_PORT admin_port=$STACK_READ_ADMIN_PORT
      db_port=$STACK_MYSQL_1_PORT account=catalog-reader ;;
    *) die "usage: $0 restart write-api|read-api" ;;
  esac
  running "$name" || die "$name does not run: $0 up"
  # The surge's metrics port is any free one: Prometheus scrapes the API only.
  start_api "$name-surge" "$surge_port" 0 "$db_port" "$account" "$name"
  log "stopping $name (drain), the surge instance serves meanwhile"
  stop "$name"
  start_api "$name" "$api_port" "$admin_port" "$db_port" "$account"
  stop "$name-surge"
  log "$name restarted"
}

# token [SUBJECT]: a bearer token for write-api, valid for 10 minutes.
token() {
  [ -s "$(auth_dir)/private.pem" ] || die "no token issuer yet: $0 up"
  python3 "$root/scripts/catalog-token.py" mint --key "$(auth_dir)/private.pem" \
    --issuer "$auth_issuer" --audience "$auth_audience" --subject "$1" --ttl 600
}

down() {
  [ -d "$run" ] || { log "nothing runs"; return; }
  local p
  for p in write-api-surge read-api-surge "${processes[@]}"; do
    if running "$p"; then log "stopping $p"; fi
    stop "$p"
  done
  log "stopped (data kept in $state; scripts/local-stack/stack.sh clean deletes it)"
}

status() {
  local p
  for p in "${processes[@]}"; do
    if running "$p"; then echo "$p running (pid $(pid_of "$p"))"; else echo "$p stopped"; fi
  done
  all_running
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  restart) restart "${2:-}" ;;
  token) token "${2:-you}" ;;
  clean) down; rm -rf "$state"; log "deleted $state" ;;
  *) echo "usage: $0 up|down|status|restart API|token [SUBJECT]|clean" >&2; exit 2 ;;
esac
