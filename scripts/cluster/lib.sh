# Shared settings of the test cluster scripts (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the settings are read by the scripts that source this file

cluster_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Builds are cached outside the work tree, keyed by version, so fresh clones reuse them.
CATALOG_CACHE=${CATALOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/catalog}
CLUSTER_CACHE="$CATALOG_CACHE/cluster"
CLUSTER_BIN="$CLUSTER_CACHE/bin"

# Everything the running cluster owns: certificates, etcd data, containerd, kubelet, logs, pids.
CLUSTER_STATE=${CLUSTER_STATE:-$cluster_root/.state/cluster}

# Addresses: one /16 that exists only on this machine. The guard drops any packet from or to it
# on the uplink, so nothing of the cluster can leave the machine.
CLUSTER_SUPERNET=10.229.0.0/16
NODE_BRIDGE=catalog-node0    # the node's own network; MetalLB announces its pool here
NODE_CIDR=10.229.0.0/24
NODE_IP=10.229.0.1
POD_BRIDGE=catalog-pods0     # the CNI bridge of the pods
POD_CIDR=10.229.64.0/24
SERVICE_CIDR=10.229.128.0/20
KUBERNETES_SERVICE_IP=10.229.128.1
CLUSTER_DNS_IP=10.229.128.10
METALLB_FIRST=10.229.0.200
METALLB_LAST=10.229.0.250
NODE_NAME=catalog-node

# Ports on loopback or the node address, none of them used by the other suites.
ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380
APISERVER_PORT=6443
METRICS_SERVER_PORT=4443
COREDNS_HEALTH_PORT=18053
PROMETHEUS_OPERATOR_PORT=18054  # its metrics and /healthz, on loopback

KUBECONFIG_ADMIN="$CLUSTER_STATE/admin.kubeconfig"
CONTAINERD_SOCKET="$CLUSTER_STATE/containerd/containerd.sock"

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Processes of the node (control plane, CoreDNS, metrics-server, prometheus-operator): each with
# its log and pid file in the state directory.
logs="$CLUSTER_STATE/logs"
pids="$CLUSTER_STATE/pids"

start() { # start <name> <command...>: a background process with its log and pid file
  local name=$1; shift
  mkdir -p "$logs" "$pids"
  setsid "$@" > "$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$pids/$name.pid"
}

running() { [ -f "$pids/$1.pid" ] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }

stop() { # stop <name>: SIGTERM, then SIGKILL after 15 s
  local name=$1 pid i
  [ -f "$pids/$name.pid" ] || return 0
  pid=$(cat "$pids/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pids/$name.pid"
}

wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 seconds=$2 deadline; shift 2
  deadline=$((SECONDS + seconds))
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { log "timed out after ${seconds}s waiting for $what"; return 1; }
    sleep 1
  done
  log "$what: ready after $((seconds - (deadline - SECONDS)))s"
}

# The host's uplinks: the devices of its default routes (the guard keeps the cluster off them).
uplink() { ip -o route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }' | sort -u; }

# Lines of scripts/tools/cluster-components.txt without comments and blanks.
component_entries() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$cluster_root/scripts/tools/cluster-components.txt"; }

# <module>@<version> of a component, and its version alone.
component_module() { component_entries | awk -v n="$1" '$1 == n { print $2 }'; }
component_version() { component_module "$1" | sed 's/.*@//'; }

KUBERNETES_VERSION=$(component_version kubernetes)
KUBERNETES_BIN="$CLUSTER_CACHE/kubernetes-$KUBERNETES_VERSION"

kubectl() { "$KUBERNETES_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
