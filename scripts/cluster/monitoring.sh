#!/usr/bin/env bash
# Monitoring in the test cluster: the core of kube-prometheus-stack, which cannot be downloaded
# here. prometheus-operator runs as a process of the node (like CoreDNS and metrics-server) and
# runs a Prometheus in the namespace `monitoring` that selects ServiceMonitors and PrometheusRules
# with the selectors kube-prometheus-stack renders from our values (prometheus_cr.py), and scrapes
# the kubelet and its cAdvisor as the stack does (manifests/monitoring.yaml).
#
#   scripts/cluster/monitoring.sh up     on a running cluster (cluster.sh up runs it)
#   scripts/cluster/monitoring.sh down   remove it again (cluster.sh down only needs to stop the
#                                        operator: everything else goes with the cluster)
#   scripts/cluster/monitoring.sh url    the Prometheus URL, http://<pod IP>:9090 (pod addresses
#                                        are routed to from the host)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/cluster/lib.sh
. "$here/lib.sh"
# shellcheck source=scripts/cluster/pki.sh
. "$here/pki.sh"

namespace=monitoring
# Intervals of the test cluster only (the stack's defaults are 30s): the rules see a change within
# seconds. A ServiceMonitor endpoint's own interval (ours: 30s) still wins.
scrape_interval=10s
evaluation_interval=5s

operator_module=$(component_module prometheus-operator)
operator_bin="$CLUSTER_BIN/prometheus-operator"
reloader_image="docker.io/catalog/prometheus-config-reloader:$(component_version prometheus-config-reloader)"

prometheus_image() { "$here/images.sh" refs | grep '^docker\.io/catalog/prometheus:'; }

# The Prometheus resource, generated from the chart's values and the ci environment's.
prometheus_resource() {
  local image=$1
  python3 "$here/prometheus_cr.py" --image "$image" --version "${image##*:}" \
    --scrape-interval "$scrape_interval" --evaluation-interval "$evaluation_interval" \
    "$cluster_root/charts/catalog/values.yaml" "$cluster_root/values/common.yaml" "$cluster_root/values/ci.yaml"
}

prometheus_name() { prometheus_resource "$(prometheus_image)" | sed -n 's/^  name: //p' | head -n 1; }

operator_dir() {
  (cd "$cluster_root" && GOFLAGS=-mod=mod go mod download -json "$operator_module") |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# Pod IP of the Prometheus (the operator's StatefulSet prometheus-<name>, one replica).
pod_ip() {
  kubectl -n "$namespace" get pod "prometheus-$1-0" -o jsonpath='{.status.podIP}' 2>/dev/null
}

up() {
  kubectl get --raw /readyz > /dev/null 2>&1 || die "no cluster answers at $KUBECONFIG_ADMIN (cluster.sh up)"
  [ -x "$operator_bin" ] || die "no $operator_bin (scripts/cluster/build.sh)"
  local image name
  image=$(prometheus_image)
  # Both images are imported with the others by cluster.sh up; on a cluster started before they
  # existed, import them now.
  local listed
  listed=$(ctr --address "$CONTAINERD_SOCKET" -n k8s.io images ls -q)
  if ! grep -qxF "$image" <<< "$listed" || ! grep -qxF "$reloader_image" <<< "$listed"; then
    log "importing the Prometheus images"
    "$here/images.sh" import "$CONTAINERD_SOCKET" prometheus prometheus-config-reloader \
      >> "$logs/images.log" 2>&1 || die "image import failed (see $logs/images.log)"
  fi
  # The operator's own identity, with the ClusterRole its module ships for it.
  client_identity prometheus-operator /CN=catalog-test:prometheus-operator
  kubectl apply --server-side \
    -f "$(operator_dir)/example/rbac/prometheus-operator/prometheus-operator-cluster-role.yaml" > /dev/null
  kubectl apply --server-side -f "$here/manifests/monitoring.yaml" > /dev/null
  # As kube-prometheus-stack runs it: the kubelet Service kept up to date (Endpoints), the config
  # reloader image set; its metrics on loopback only.
  running prometheus-operator || start prometheus-operator \
    env KUBECONFIG="$CLUSTER_STATE/prometheus-operator.kubeconfig" "$operator_bin" \
    --kubelet-service=kube-system/kubelet --kubelet-endpoints=true --kubelet-endpointslice=false \
    --prometheus-config-reloader="$reloader_image" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_OPERATOR_PORT" --log-format=logfmt
  wait_for prometheus-operator 60 curl -fsS "http://127.0.0.1:$PROMETHEUS_OPERATOR_PORT/healthz"
  # Ours: --force-conflicts takes back fields someone changed by hand.
  prometheus_resource "$image" | kubectl apply --server-side --force-conflicts -f - > /dev/null
  name=$(prometheus_name)
  wait_for "StatefulSet prometheus-$name" 120 kubectl -n "$namespace" get "statefulset/prometheus-$name"
  kubectl -n "$namespace" rollout status "statefulset/prometheus-$name" --timeout=300s > /dev/null ||
    die "Prometheus did not become ready (kubectl -n $namespace describe pod prometheus-$name-0)"
  wait_for "Prometheus at http://$(pod_ip "$name"):9090" 120 curl -fsS "http://$(pod_ip "$name"):9090/-/ready"
}

down() {
  local api=false
  kubectl get --raw /readyz > /dev/null 2>&1 && api=true
  # The Prometheus first, while the operator still runs (its StatefulSet goes with it); then the
  # operator, so that it recreates nothing; then what remains, its kubelet Service included.
  if $api; then
    kubectl delete prometheuses.monitoring.coreos.com --all -n "$namespace" --ignore-not-found \
      --wait=true --timeout=120s > /dev/null
  fi
  stop prometheus-operator
  if $api; then
    kubectl delete -f "$here/manifests/monitoring.yaml" --ignore-not-found --wait=true --timeout=180s > /dev/null
    kubectl delete clusterrole prometheus-operator --ignore-not-found > /dev/null
    # What the operator made outside `monitoring`: the kubelet Service (its Endpoints go with it).
    kubectl -n kube-system delete service -l app.kubernetes.io/managed-by=prometheus-operator \
      --ignore-not-found > /dev/null
  fi
  log "monitoring removed"
}

url() {
  local ip
  ip=$(pod_ip "$(prometheus_name)")
  [ -n "$ip" ] || die "no Prometheus pod in $namespace"
  echo "http://$ip:9090"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  url) url ;;
  *) echo "usage: $0 up|down|url" >&2; exit 2 ;;
esac
