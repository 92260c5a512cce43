#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, from real components (docs/cluster.md):
#
#   scripts/cluster/cluster.sh up      build (cached), start, and install the platform pieces
#   scripts/cluster/cluster.sh down    stop everything and restore the host as it was
#   scripts/cluster/cluster.sh check-clean   fail if anything of a cluster is left on the host
#
# The control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), the node
# (containerd, kubelet, kube-proxy), CoreDNS, metrics-server and prometheus-operator run as
# processes of this machine; MetalLB, Traefik and Prometheus (monitoring.sh) run as pods. All
# addresses live in one /16 that a guard keeps off the uplink.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/cluster/lib.sh
. "$here/lib.sh"
# shellcheck source=scripts/cluster/pki.sh
. "$here/pki.sh"

export PATH="$cluster_root/bin:$PATH"
# Host settings the cluster changes (kubelet, kube-proxy, routing), saved before and restored after.
host_sysctls=(
  net.ipv4.ip_forward
  net.bridge.bridge-nf-call-iptables
  net.ipv4.conf.all.route_localnet
  kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes
  net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait
)
saved_sysctls="$CATALOG_CACHE/cluster-host-sysctls"  # outside the state dir: survives a lost clone

# --- host ------------------------------------------------------------------------------------


save_sysctls() {
  [ -f "$saved_sysctls" ] && return  # an earlier run that did not finish restoring: keep its values
  mkdir -p "$(dirname "$saved_sysctls")"
  local key
  for key in "${host_sysctls[@]}"; do
    [ -e "/proc/sys/${key//.//}" ] && echo "$key=$(sysctl -n "$key")"
  done > "$saved_sysctls.tmp"
  mv "$saved_sysctls.tmp" "$saved_sysctls"
}

restore_sysctls() {
  [ -f "$saved_sysctls" ] || return 0
  local line
  while read -r line; do sysctl -q -w "$line" || log "could not restore $line"; done < "$saved_sysctls"
  rm -f "$saved_sysctls"
}

# The node's network: a bridge of our own (the CNI plugin adds the pods' one), and a guard chain
# that drops every packet of the cluster's /16 on the uplink (a pod can reach the node, never the
# outside).
setup_network() {
  ip link show "$NODE_BRIDGE" > /dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
  ip addr replace "$NODE_IP/${NODE_CIDR#*/}" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Service addresses from the host go out through the node's bridge, never the default route.
  ip route replace "$SERVICE_CIDR" dev "$NODE_BRIDGE" src "$NODE_IP"
  # The guard sits first in the mangle table's PREROUTING and POSTROUTING: the first rule a packet
  # from the uplink meets, and the last one before a packet leaves on it (after every filter rule
  # that kube-proxy or kubelet adds, and before any NAT hides a pod's address).
  local dev chain
  for chain in CATALOG-GUARD-IN CATALOG-GUARD-OUT; do
    iptables -t mangle -N "$chain" 2>/dev/null || iptables -t mangle -F "$chain"
  done
  for dev in $(uplink); do
    iptables -t mangle -A CATALOG-GUARD-IN -i "$dev" -d "$CLUSTER_SUPERNET" -j DROP
    iptables -t mangle -A CATALOG-GUARD-OUT -o "$dev" -s "$CLUSTER_SUPERNET" -j DROP
    iptables -t mangle -A CATALOG-GUARD-OUT -o "$dev" -d "$CLUSTER_SUPERNET" -j DROP
  done
  iptables -t mangle -C PREROUTING -j CATALOG-GUARD-IN 2>/dev/null || iptables -t mangle -I PREROUTING 1 -j CATALOG-GUARD-IN
  iptables -t mangle -C POSTROUTING -j CATALOG-GUARD-OUT 2>/dev/null || iptables -t mangle -I POSTROUTING 1 -j CATALOG-GUARD-OUT
  sysctl -q -w net.ipv4.ip_forward=1
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1
}

teardown_network() {
  while iptables -t mangle -D PREROUTING -j CATALOG-GUARD-IN 2>/dev/null; do :; done
  while iptables -t mangle -D POSTROUTING -j CATALOG-GUARD-OUT 2>/dev/null; do :; done
  local chain
  for chain in CATALOG-GUARD-IN CATALOG-GUARD-OUT; do
    if iptables -t mangle -F "$chain" 2>/dev/null; then iptables -t mangle -X "$chain"; fi
  done
  local link
  for link in "$POD_BRIDGE" "$NODE_BRIDGE" catalog-lb-host; do
    ip link del "$link" 2>/dev/null || true
  done
  ip netns del catalog-lb-client 2>/dev/null || true
  rm -rf /etc/netns/catalog-lb-client
}

# Copies a template with every @NAME@ replaced by the cluster setting of that name.
render() {
  local ip_first=${METALLB_FIRST%.*} last_octet=${METALLB_FIRST##*.}
  sed -e "s#@STATE@#$CLUSTER_STATE#g" -e "s#@SOCKET@#$CONTAINERD_SOCKET#g" \
    -e "s#@NODE_NAME@#$NODE_NAME#g" -e "s#@NODE_IP@#$NODE_IP#g" -e "s#@NODE_CIDR@#$NODE_CIDR#g" \
    -e "s#@NODE_BRIDGE@#$NODE_BRIDGE#g" -e "s#@POD_BRIDGE@#$POD_BRIDGE#g" \
    -e "s#@POD_CIDR@#$POD_CIDR#g" -e "s#@POD_GATEWAY@#${POD_CIDR%.*}.1#g" \
    -e "s#@CLUSTER_DNS_IP@#$CLUSTER_DNS_IP#g" -e "s#@COREDNS_HEALTH_PORT@#$COREDNS_HEALTH_PORT#g" \
    -e "s#@METRICS_SERVER_PORT@#$METRICS_SERVER_PORT#g" \
    -e "s#@METALLB_FIRST@#$METALLB_FIRST#g" -e "s#@METALLB_SECOND@#$ip_first.$((last_octet + 1))#g" \
    -e "s#@METALLB_THIRD@#$ip_first.$((last_octet + 2))#g" -e "s#@METALLB_LAST@#$METALLB_LAST#g" \
    -e "s#@TRAEFIK_VERSION@#$(component_version traefik)#g" \
    "$@"
}

# --- components --------------------------------------------------------------------------------

write_configs() {
  local etc="$CLUSTER_STATE/etc"
  mkdir -p "$etc" "$CLUSTER_STATE/cni/net.d" "$CLUSTER_STATE/pod-logs"
  # Pods resolve only cluster names: no upstream server, nothing is looked up outside.
  echo "nameserver $CLUSTER_DNS_IP" > "$etc/resolv.conf"
  local file
  for file in containerd.toml kubelet.yaml kube-proxy.yaml Corefile; do
    render "$here/config/$file" > "$etc/$file"
  done
  render "$here/config/cni.conflist" > "$CLUSTER_STATE/cni/net.d/10-catalog.conflist"
}

start_control_plane() {
  local k="$KUBERNETES_BIN" pki="$pki_dir"
  # A throwaway cluster: etcd without fsync keeps the API fast on a busy disk.
  running etcd || start etcd "$CLUSTER_BIN/etcd" --name catalog --data-dir "$CLUSTER_STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "catalog=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "" --unsafe-no-fsync --log-level warn
  wait_for etcd 60 curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

  running kube-apiserver || start kube-apiserver "$k/kube-apiserver" \
    --advertise-address "$NODE_IP" --bind-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/service-accounts.pub" \
    --service-account-signing-key-file "$pki/service-accounts.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --profiling=false \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --requestheader-group-headers X-Remote-Group --requestheader-username-headers X-Remote-User \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" \
    --proxy-client-key-file "$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true
  wait_for kube-apiserver 120 kubectl get --raw /readyz

  running kube-controller-manager || start kube-controller-manager "$k/kube-controller-manager" \
    --kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/service-accounts.key" \
    --use-service-account-credentials=true --service-cluster-ip-range "$SERVICE_CIDR" \
    --allocate-node-cidrs=false
  running kube-scheduler || start kube-scheduler "$k/kube-scheduler" \
    --kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
  # The default ServiceAccount appears once the controller-manager runs.
  wait_for "controller-manager (default ServiceAccount)" 120 kubectl -n default get serviceaccount default
}

start_node() {
  running containerd || start containerd containerd --config "$CLUSTER_STATE/etc/containerd.toml"
  wait_for containerd 60 ctr --address "$CONTAINERD_SOCKET" version
  log "importing images"
  "$here/images.sh" import "$CONTAINERD_SOCKET" >> "$logs/images.log" 2>&1 \
    || die "image import failed (see $logs/images.log)"

  # --containerd: cAdvisor (in the kubelet, /metrics/cadvisor) asks containerd which container a
  # cgroup is, and only knows the default socket; without it container_* series have no
  # container, pod or namespace of a container (a flag only: KubeletConfiguration has no field).
  running kubelet || start kubelet "$KUBERNETES_BIN/kubelet" \
    --config "$CLUSTER_STATE/etc/kubelet.yaml" --kubeconfig "$CLUSTER_STATE/kubelet.kubeconfig" \
    --root-dir "$CLUSTER_STATE/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --containerd "$CONTAINERD_SOCKET"
  running kube-proxy || start kube-proxy "$KUBERNETES_BIN/kube-proxy" \
    --config "$CLUSTER_STATE/etc/kube-proxy.yaml"
  wait_for "node $NODE_NAME Ready" 180 \
    kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
}

start_addons() {
  render "$here/manifests/host-services.yaml" | kubectl apply --server-side -f - > /dev/null
  running coredns || start coredns "$CLUSTER_BIN/coredns" -conf "$CLUSTER_STATE/etc/Corefile"
  wait_for CoreDNS 60 curl -fsS "http://127.0.0.1:$COREDNS_HEALTH_PORT/health"
  running metrics-server || start metrics-server "$CLUSTER_BIN/metrics-server" \
    --kubeconfig "$CLUSTER_STATE/metrics-server.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_STATE/metrics-server.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_STATE/metrics-server.kubeconfig" \
    --bind-address "$NODE_IP" --secure-port "$METRICS_SERVER_PORT" \
    --tls-cert-file "$pki_dir/metrics-server.crt" --tls-private-key-file "$pki_dir/metrics-server.key" \
    --kubelet-certificate-authority "$pki_dir/ca.crt" \
    --kubelet-preferred-address-types InternalIP --kubelet-use-node-status-port \
    --metric-resolution 15s
  # The APIService needs the CA that signed metrics-server's serving certificate.
  sed "s#@CA_BUNDLE@#$(base64 -w0 < "$pki_dir/ca.crt")#" "$here/manifests/metrics-apiservice.yaml" \
    | kubectl apply --server-side -f - > /dev/null
}

# Storage: local PersistentVolumes in the state directory behind the StorageClass local-storage.
create_volumes() {
  local i
  for i in $(seq 1 8); do mkdir -p "$CLUSTER_STATE/volumes/pv-$i"; done
  render "$here/manifests/storage.yaml" | kubectl apply --server-side -f - > /dev/null
}

install_platform() {
  kubectl apply --server-side -f "$here/manifests/namespaces.yaml" > /dev/null
  create_volumes
  # prometheus-operator's CRDs, so ServiceMonitors and PrometheusRules are real API objects.
  local operator_dir metallb_dir
  operator_dir=$(GOFLAGS=-mod=mod go mod download -json "$(component_module prometheus-operator)" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  kubectl apply --server-side -f "$operator_dir/example/prometheus-operator-crd/" > /dev/null
  # MetalLB from the chart in its own module, with the images built from that module.
  metallb_dir=$(GOFLAGS=-mod=mod go mod download -json "$(component_module metallb-controller)" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  local metallb_version
  metallb_version=$(component_version metallb-controller)
  helm upgrade --install metallb "$metallb_dir/charts/metallb" --kubeconfig "$KUBECONFIG_ADMIN" \
    --namespace metallb-system --wait --timeout 5m \
    --set speaker.frr.enabled=false --set crds.enabled=true \
    --set controller.image.repository=docker.io/catalog/metallb-controller \
    --set controller.image.tag="$metallb_version" --set controller.image.pullPolicy=Never \
    --set speaker.image.repository=docker.io/catalog/metallb-speaker \
    --set speaker.image.tag="$metallb_version" --set speaker.image.pullPolicy=Never \
    > "$logs/metallb-install.log"
  render "$here/manifests/metallb-pool.yaml" | kubectl apply --server-side -f - > /dev/null
  render "$here/manifests/traefik.yaml" | kubectl apply --server-side -f - > /dev/null
  kubectl -n traefik rollout status deployment/traefik --timeout=180s > /dev/null
  wait_for "Traefik's LoadBalancer IP $METALLB_FIRST" 120 sh -c \
    "[ \"\$(\"$KUBERNETES_BIN/kubectl\" --kubeconfig \"$KUBECONFIG_ADMIN\" -n traefik get service traefik -o jsonpath='{.status.loadBalancer.ingress[0].ip}')\" = $METALLB_FIRST ]"
  wait_for "metrics API" 120 kubectl top node
}

up() {
  [ "$(id -u)" -eq 0 ] || die "the cluster needs root (network, mounts, cgroups)"
  "$here/build.sh"
  "$here/images.sh" build > /dev/null
  log "state in $CLUSTER_STATE"
  mkdir -p "$CLUSTER_STATE"
  save_sysctls
  setup_network
  make_pki
  write_configs
  start_control_plane
  start_node
  start_addons
  install_platform
  "$here/monitoring.sh" up
  # The kubectl built with the cluster, where the other tools are (this machine's own `kubectl`
  # may be something else).
  mkdir -p "$cluster_root/bin"
  ln -sfn "$KUBERNETES_BIN/kubectl" "$cluster_root/bin/kubectl"
  log "Prometheus (API only): $("$here/monitoring.sh" url)"
  log "cluster is up: export KUBECONFIG=$KUBECONFIG_ADMIN PATH=$cluster_root/bin:\$PATH"
}

# --- teardown ----------------------------------------------------------------------------------

# Mount points under the state directory, deepest first.
state_mounts() { awk -v p="$CLUSTER_STATE/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r; }

kubepods_cgroups() { find /sys/fs/cgroup/*/kubepods* -depth -type d 2>/dev/null || true; }

down() {
  log "tearing down"
  stop kubelet
  if running containerd; then
    # Through the CRI, so containerd stops each pod and releases its network namespace and mounts.
    "$CLUSTER_BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCKET" --timeout 30s rmp -af \
      > /dev/null 2>&1 || log "crictl rmp failed; killing what is left"
  fi
  local name
  for name in prometheus-operator metrics-server coredns kube-proxy kube-scheduler \
    kube-controller-manager kube-apiserver etcd containerd; do
    stop "$name"
  done
  # Whatever survived its runtime: shims of our containerd and processes in the pods' cgroups.
  pkill -KILL -f "containerd-shim.*$CLUSTER_STATE" 2>/dev/null || true
  local cg
  for cg in $(kubepods_cgroups); do
    if [ -f "$cg/cgroup.procs" ]; then xargs -r kill -KILL < "$cg/cgroup.procs" 2>/dev/null || true; fi
  done
  sleep 1
  for cg in $(kubepods_cgroups); do rmdir "$cg" 2>/dev/null || true; done
  # kube-proxy and kubelet rule chains (KUBE-*), then our guard and bridges.
  if [ -x "$KUBERNETES_BIN/kube-proxy" ]; then "$KUBERNETES_BIN/kube-proxy" --cleanup > /dev/null 2>&1 || true; fi
  remove_kube_chains
  teardown_network
  local mount
  for mount in $(state_mounts); do umount -l "$mount" 2>/dev/null || true; done
  restore_sysctls
  rm -rf "$CLUSTER_STATE"
  log "cluster removed"
}

# iptables chains Kubernetes components create (kubelet's canaries, kube-proxy's leftovers).
remove_kube_chains() {
  local table chain chains
  for table in filter nat mangle; do
    chains=$(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }')
    # Jumps into them first (from any chain), then their rules, then the chains themselves.
    for chain in $chains; do
      iptables -t "$table" -S 2>/dev/null | awk -v c="$chain" '$1 == "-A" && $0 ~ ("-j " c "( |$)") { $1 = "-D"; print }' \
        | while read -r rule; do eval "iptables -t $table $rule" 2>/dev/null || true; done
    done
    for chain in $chains; do iptables -t "$table" -F "$chain" 2>/dev/null || true; done
    for chain in $chains; do iptables -t "$table" -X "$chain" 2>/dev/null || true; done
  done
}

# Fails, naming each, if anything of a cluster is left: processes, links, rules, mounts, cgroups,
# or host settings not restored.
check_clean() {
  local left=()
  pgrep -f "^$CLUSTER_CACHE/" > /dev/null && left+=("processes: $(pgrep -af "^$CLUSTER_CACHE/" | head -3 | tr '\n' ';')")
  pgrep -f "containerd.*$CLUSTER_STATE" > /dev/null && left+=("containerd or shims")
  local link
  for link in "$NODE_BRIDGE" "$POD_BRIDGE" catalog-lb-host; do
    ip link show "$link" > /dev/null 2>&1 && left+=("link $link")
  done
  ip netns list 2>/dev/null | grep -q catalog- && left+=("network namespace catalog-*")
  [ -e /etc/netns/catalog-lb-client ] && left+=("/etc/netns/catalog-lb-client")
  local table
  for table in filter nat mangle; do
    iptables -t "$table" -S 2>/dev/null | grep -qE 'CATALOG-|KUBE-' && left+=("iptables $table rules")
  done
  [ -n "$(state_mounts)" ] && left+=("mounts under $CLUSTER_STATE")
  [ -n "$(kubepods_cgroups)" ] && left+=("kubepods cgroups")
  [ -f "$saved_sysctls" ] && left+=("host sysctls not restored ($saved_sysctls)")
  if [ ${#left[@]} -gt 0 ]; then
    printf 'left on the host: %s\n' "${left[@]}" >&2
    return 1
  fi
  echo "nothing of the cluster is left on the host"
}

# The host settings a cluster may change, as `name = value` lines (compared before and after).
host_settings() {
  local key
  for key in "${host_sysctls[@]}"; do
    [ -e "/proc/sys/${key//.//}" ] && echo "$key = $(sysctl -n "$key")"
  done
  return 0
}

case ${1:-} in
  up) up ;;
  host-settings) host_settings ;;
  down) down ;;
  check-clean) check_clean ;;
  *) echo "usage: $0 up|down|check-clean|host-settings" >&2; exit 2 ;;
esac
