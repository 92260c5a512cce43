#!/usr/bin/env bash
# MariaDB "pods" on this machine, run by the mysql chart's own scripts the way its StatefulSet
# runs them: configure.sh and bootstrap.sh (the init containers), then run-mariadbd.sh, each with
# the env of the rendered pod spec, its paths, ports and the primary's address made local. A pod
# is a real mariadbd on a loopback port. The one way this repository starts MariaDB: the mysql
# chart's tests, the local stack, the catalog chart's metrics test and, through the commands at
# the end, the Rust integration tests (services/test-support), so all of them run against the
# accounts and grants the chart creates.
#
# Sourced: set mysql_state (a directory: secrets/, mysql-N/, run/mysql-N.pid, logs/) and
# optionally mysql_rendered (default $mysql_state/rendered/mysql), mysql_primary_ordinal (the
# chart value primaryOrdinal, default 0) and mysql_pod_env_extra (an array of NAME=value for
# every pod).
#
# Executed (services/test-support):
#   mysql-pods.sh render STATE [helm template args...]   the chart's scripts and pod env
#   mysql-pods.sh secrets STATE                          a Secret (username, password) per account
#   mysql-pods.sh configure STATE N PORT                 configure.sh of pod N (STATE/mysql-N/generated)
# with MYSQL_RENDERED naming the render when it is not under STATE.

mysql_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mysql_pod_env_extra=()

mysql_rendered_dir() { echo "${mysql_rendered:-$mysql_state/rendered/mysql}"; }
mysql_pod_dir() { echo "$mysql_state/mysql-$1"; }
mysql_pid_file() { echo "$mysql_state/run/mysql-$1.pid"; }
mysql_port() { cat "$mysql_state/mysql-$1/port"; }
mysql_socket() { echo "$mysql_state/mysql-$1/run/mysqld.sock"; }

# mysql_extract RENDERED_YAML FULLNAME: the mysql chart's part of a `helm template` output.
mysql_extract() { python3 "$mysql_repo/scripts/lib/mysql_extract.py" "$1" "$2" "$(mysql_rendered_dir)"; }

# mysql_render [helm template args...]: renders charts/mysql on its own (release and fullname
# mysql, namespace catalog) and extracts it.
mysql_render() {
  local rendered
  rendered=$(mysql_rendered_dir)
  mkdir -p "$rendered"
  helm template mysql "$mysql_repo/charts/mysql" --namespace catalog --set fullnameOverride=mysql "$@" \
    > "$rendered.yaml"
  mysql_extract "$rendered.yaml" mysql
}

# mysql_make_secrets: one directory per account the pod mounts, as the Secret volumes mount them;
# existing ones are kept (a restarted stack keeps its passwords).
mysql_make_secrets() {
  local account dir
  while read -r account; do
    dir="$mysql_state/secrets/$account"
    [ -f "$dir/password" ] && continue
    mkdir -p "$dir"
    printf '%s' "${account//-/_}" > "$dir/username"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
  done < "$(mysql_rendered_dir)/accounts"
  chmod -R go-rwx "$mysql_state/secrets"
}

# mysql_new_pod N PORT: pod N's directories, and the port it listens on.
mysql_new_pod() {
  mkdir -p "$mysql_state/mysql-$1"/{data,tmp,run} "$mysql_state/run" "$mysql_state/logs"
  echo "$2" > "$mysql_state/mysql-$1/port"
}

# mysql_pod_env N [NAME=value...]: the environment pod N's containers get, for `env -i` (later
# assignments win): the rendered pod env, then local paths and ports, then the extras.
mysql_pod_env() {
  local n=$1; shift
  local dir primary=${mysql_primary_ordinal:-0} rendered
  dir=$(mysql_pod_dir "$n")
  rendered=$(mysql_rendered_dir)
  cat "$rendered/pod.env"
  printf '%s\n' "PATH=$PATH" "HOSTNAME=mysql-$n" "MYSQL_PRIMARY_ORDINAL=$primary" \
    "MYSQL_PRIMARY_HOST=127.0.0.1" "MYSQL_PRIMARY_PORT=$(mysql_port "$primary")" \
    "MYSQL_PORT=$(mysql_port "$n")" "MYSQL_BIND_ADDRESS=127.0.0.1" \
    "MYSQL_DATA_ROOT=$dir/data" "MYSQL_CONF_DIR=$dir/generated" "MYSQL_RUN_DIR=$dir/run" \
    "MYSQL_SECRETS_DIR=$mysql_state/secrets" "TMPDIR=$dir/tmp" "EXPORTER_CONF_DIR=$dir/exporter" \
    "MYSQL_EXTRA_CNF=$rendered/scripts/extra.cnf"
  # mariadbd refuses to run as root unless told to.
  [ "$(id -u)" -ne 0 ] || echo "MYSQL_RUN_AS_USER=root"
  local extra
  for extra in "${mysql_pod_env_extra[@]}" "$@"; do echo "$extra"; done
}

# mysql_in_pod N [NAME=value...] -- SCRIPT [args...]: runs a chart script as pod N's containers do.
mysql_in_pod() {
  local n=$1; shift
  local -a extra=() envs
  while [ $# -gt 0 ] && [ "$1" != -- ]; do extra+=("$1"); shift; done
  shift
  local script=$1; shift
  mapfile -t envs < <(mysql_pod_env "$n" "${extra[@]}")
  env -i "${envs[@]}" bash "$(mysql_rendered_dir)/scripts/$script" "$@"
}

# mysql_start_pod N [NAME=value...]: the init containers (configure.sh, bootstrap.sh), then the
# server (mysql_run_server). Init output goes to logs/mysql-N-init.log, its tail to stderr on failure.
mysql_start_pod() {
  local n=$1; shift
  local log="$mysql_state/logs/mysql-$n-init.log"
  if ! mysql_in_pod "$n" "$@" -- configure.sh >> "$log" 2>&1 \
    || ! mysql_in_pod "$n" "$@" -- bootstrap.sh >> "$log" 2>&1; then
    tail -n 30 "$log" >&2
    return 1
  fi
  mysql_run_server "$n" "$@"
}

# mysql_run_server N [NAME=value...]: run-mariadbd.sh in the background, in its own session (the
# process group is stopped as a whole; run-mariadbd.sh execs mariadbd, so the pid file names
# mariadbd), log in logs/mysql-N.log; returns once the liveness probe passes (60 s at most).
mysql_run_server() {
  local n=$1; shift
  local -a envs
  local log="$mysql_state/logs/mysql-$n.log" pid _
  mapfile -t envs < <(mysql_pod_env "$n" "$@")
  setsid env -i "${envs[@]}" bash "$(mysql_rendered_dir)/scripts/run-mariadbd.sh" >> "$log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$(mysql_pid_file "$n")"
  for _ in $(seq 1 240); do
    mysql_in_pod "$n" "$@" -- probe.sh alive > /dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  tail -n 30 "$log" >&2
  return 1
}

# mysql_exporter_args N LISTEN_PORT: the exporter sidecar's rendered arguments, one a line, with
# the credential file configure.sh wrote for pod N and a loopback listen address.
mysql_exporter_args() {
  sed -e "s|^--config.my-cnf=.*|--config.my-cnf=$(mysql_pod_dir "$1")/exporter/my.cnf|" \
    -e "s|^--web.listen-address=.*|--web.listen-address=127.0.0.1:$2|" "$(mysql_rendered_dir)/exporter.args"
}

mysql_pod_running() {
  local file
  file=$(mysql_pid_file "$1")
  [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

# mysql_stop_pod N: SIGTERM, up to 30 s for a clean shutdown, then SIGKILL to the process group.
mysql_stop_pod() {
  local file pid _
  file=$(mysql_pid_file "$1")
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$file"
}

# mysql_stop_all: every pod started from $mysql_state, and any server a killed bootstrap left.
mysql_stop_all() {
  local file
  for file in "$mysql_state"/run/mysql-*.pid; do
    [ -f "$file" ] || continue
    file=${file##*/mysql-}
    mysql_stop_pod "${file%.pid}"
  done
  for file in "$mysql_state"/mysql-*/run/mariadbd.pid "$mysql_state"/mysql-*/tmp/bootstrap.*/bootstrap.pid; do
    if [ -f "$file" ]; then kill -KILL "$(cat "$file")" 2>/dev/null || true; fi
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  command=${1:-}
  mysql_state=${2:?usage: mysql-pods.sh render|secrets|configure STATE ...}
  shift 2
  mysql_rendered=${MYSQL_RENDERED:-}
  case $command in
    render) mysql_render "$@" ;;
    secrets) mysql_make_secrets ;;
    configure) mysql_new_pod "$1" "$2"; mysql_in_pod "$1" -- configure.sh ;;
    *) echo "usage: mysql-pods.sh render|secrets|configure STATE ..." >&2; exit 2 ;;
  esac
fi
