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

KUBECONFIG_ADMIN="$CLUSTER_STATE/admin.kubeconfig"
CONTAINERD_SOCKET="$CLUSTER_STATE/containerd/containerd.sock"

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Lines of scripts/tools/cluster-components.txt without comments and blanks.
component_entries() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$cluster_root/scripts/tools/cluster-components.txt"; }

# <module>@<version> of a component, and its version alone.
component_module() { component_entries | awk -v n="$1" '$1 == n { print $2 }'; }
component_version() { component_module "$1" | sed 's/.*@//'; }

KUBERNETES_VERSION=$(component_version kubernetes)
KUBERNETES_BIN="$CLUSTER_CACHE/kubernetes-$KUBERNETES_VERSION"

kubectl() { "$KUBERNETES_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
