#!/usr/bin/env bash
# Test harness for the mysql chart's scripts: "pods" are real mariadbd processes on free loopback
# ports in a temp dir, each given the env its pod spec sets (pod.env from the rendered
# StatefulSet) with paths, ports and the primary's address pointed at the test's own. Sourced.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mysql-chart-test.XXXXXX")
scripts="$work/rendered/scripts"
secrets="$work/secrets"
declare -A port pid
passed=0
failed=0

cleanup() {
  local n file
  for n in "${!pid[@]}"; do stop_pod "$n" 2>/dev/null || true; done
  # Servers started in a subshell whose pid was never adopted: stop them by their pid files.
  for file in "$work"/pod-*/run/mariadbd.pid; do
    [ -f "$file" ] && kill -KILL "$(cat "$file")" 2>/dev/null
  done
  [ -n "${writer_pid:-}" ] && kill "$writer_pid" 2>/dev/null
  [ -n "${exporter_pid:-}" ] && kill "$exporter_pid" 2>/dev/null
  wait 2>/dev/null || true
  if [ "${KEEP_TEST_DIR:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf '\n--- %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
# check "description" command...: passes when the command succeeds. Its output lands in
# $work/last.out once it has finished, for follow-up checks on the message.
check() {
  local what=$1; shift
  if "$@" > "$work/running.out" 2>&1; then ok "$what"; else not_ok "$what"; tail -n 20 "$work/running.out" | sed 's/^/     /'; fi
  mv "$work/running.out" "$work/last.out"
}
# refute "description" command...: passes when the command fails.
refute() {
  local what=$1; shift
  if "$@" > "$work/running.out" 2>&1; then not_ok "$what (unexpectedly succeeded)"; tail -n 10 "$work/running.out" | sed 's/^/     /'; else ok "$what"; fi
  mv "$work/running.out" "$work/last.out"
}
# check_eq "description" expected command...
check_eq() {
  local what=$1 want=$2 got; shift 2
  got=$("$@" 2>&1) || true
  if [ "$got" = "$want" ]; then ok "$what"; else not_ok "$what: want '$want', got '$got'"; fi
}
finish() {
  echo
  echo "mysql scripts: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

free_ports() { python3 -c 'import socket,sys
socks=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"; }

# render_chart: helm template the chart and extract its scripts and pod env.
render_chart() {
  helm template mysql "$repo/charts/mysql" --namespace catalog --set fullnameOverride=mysql \
    --set backup.enabled=true > "$work/rendered.yaml"
  python3 "$repo/scripts/lib/mysql_extract.py" "$work/rendered.yaml" mysql "$work/rendered"
}

# make_secrets: one directory per account, as the Secret volumes mount them. The writer's
# password carries quotes and a backslash to prove the scripts quote SQL and option files.
make_secrets() {
  local account
  for account in root catalog-migrator catalog-writer catalog-reader repl probe exporter backup; do
    mkdir -p "$secrets/$account"
    printf '%s' "${account//-/_}" > "$secrets/$account/username"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$secrets/$account/password"
  done
  printf '%s' "w'ri\"te\\r-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')" > "$secrets/catalog-writer/password"
}

# pod_env N [NAME=value...]: the environment pod N's containers get, for `env -i` (later
# assignments win): the rendered pod env, then this test's paths and ports, then the extras.
pod_env() {
  local n=$1; shift
  local dir="$work/pod-$n"
  local -a vars
  mapfile -t vars < "$work/rendered/pod.env"
  vars+=(
    "PATH=$PATH" "HOSTNAME=mysql-$n"
    # primary_ordinal plays the chart value primaryOrdinal (changed by a failover).
    "MYSQL_PRIMARY_ORDINAL=${primary_ordinal:-0}"
    "MYSQL_PRIMARY_HOST=127.0.0.1" "MYSQL_PRIMARY_PORT=${port[${primary_ordinal:-0}]}"
    "MYSQL_PORT=${port[$n]}" "MYSQL_BIND_ADDRESS=127.0.0.1"
    "MYSQL_DATA_ROOT=$dir/data" "MYSQL_CONF_DIR=$dir/generated" "MYSQL_RUN_DIR=$dir/run"
    "MYSQL_SECRETS_DIR=$secrets" "TMPDIR=$dir/tmp" "EXPORTER_CONF_DIR=$dir/exporter"
    "MYSQL_EXTRA_CNF=$scripts/extra.cnf"
    # Small buffer pool: several servers share this machine.
    "MYSQL_INNODB_BUFFER_POOL_SIZE=32M"
  )
  [ "$(id -u)" -ne 0 ] || vars+=("MYSQL_RUN_AS_USER=root")
  printf '%s\n' "${vars[@]}" "$@"
}

# in_pod N [NAME=value...] -- script args...: runs a chart script as pod N's containers would.
in_pod() {
  local n=$1; shift
  local -a extra=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do extra+=("$1"); shift; done
  shift
  local script=$1; shift
  local -a envs
  mapfile -t envs < <(pod_env "$n" "${extra[@]}")
  env -i "${envs[@]}" bash "$scripts/$script" "$@"
}

# new_pod N: allocates pod N's directories (port assigned by the caller).
new_pod() { mkdir -p "$work/pod-$1"/{data,tmp,run}; }

# start_pod N [NAME=value...]: init containers (configure, bootstrap), then the main container
# in the background, then waits until the liveness probe passes.
start_pod() {
  local n=$1; shift
  in_pod "$n" "$@" -- configure.sh >> "$work/pod-$n/init.log" 2>&1 || { cat "$work/pod-$n/init.log"; return 1; }
  in_pod "$n" "$@" -- bootstrap.sh >> "$work/pod-$n/init.log" 2>&1 || { cat "$work/pod-$n/init.log"; return 1; }
  run_server "$n" "$@"
}

run_server() {
  local n=$1; shift
  local -a envs
  mapfile -t envs < <(pod_env "$n" "$@")
  # Own session, so the process group can be killed as a whole; run-mariadbd.sh execs mariadbd.
  setsid env -i "${envs[@]}" bash "$scripts/run-mariadbd.sh" >> "$work/pod-$n/server.log" 2>&1 &
  pid[$n]=$!
  local _
  for _ in $(seq 1 240); do
    in_pod "$n" "$@" -- probe.sh alive > /dev/null 2>&1 && return 0
    kill -0 "${pid[$n]}" 2>/dev/null || break
    sleep 0.25
  done
  tail -n 30 "$work/pod-$n/server.log"
  return 1
}

# retry SECONDS command...: until the command succeeds, every 0.5 s.
retry() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.5; done
}

# adopt_pod N: takes over a server started in a subshell (its pid from the pid file).
adopt_pod() { pid[$1]=$(cat "$work/pod-$1/run/mariadbd.pid"); }

stop_pod() {
  local n=$1
  [ -n "${pid[$n]:-}" ] || return 0
  kill -TERM "${pid[$n]}" 2>/dev/null || true
  local _
  for _ in $(seq 1 120); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-${pid[$n]}" 2>/dev/null || true
  wait "${pid[$n]}" 2>/dev/null || true
  unset "pid[$n]"
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
    mariadb --defaults-extra-file="$cnf" --socket="$work/pod-$n/run/mysqld.sock" -N -B "$@"
  else
    mariadb --defaults-extra-file="$cnf" --host=127.0.0.1 --port="${port[$n]}" --protocol=TCP -N -B "$@"
  fi
}
sql_tcp() { # sql_tcp N account args...: forces TCP, for "may this account log in remotely?"
  local n=$1 account=$2; shift 2
  mariadb --defaults-extra-file="$(cnf_for "$account")" --host=127.0.0.1 --port="${port[$n]}" --protocol=TCP -N -B "$@"
}

# wait_gtid N GTID: replica N has applied GTID (MASTER_GTID_WAIT, 60 s).
wait_gtid() { [ "$(sql "$1" root -e "SELECT MASTER_GTID_WAIT('$2', 60)")" = 0 ]; }
# lock_held N: a test session holds FLUSH TABLES WITH READ LOCK on pod N (and sleeps in it).
lock_held() { [ "$(sql "$1" root -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info = 'SELECT SLEEP(12)'")" = 1 ]; }
table_checksum() { sql "$1" root -e 'CHECKSUM TABLE catalog.items EXTENDED' | cut -f2; }
