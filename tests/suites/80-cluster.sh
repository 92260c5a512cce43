#!/usr/bin/env bash
# The product on a real Kubernetes (scripts/cluster/cluster.sh: kube-apiserver, controller-manager,
# scheduler, kubelet, kube-proxy built from k8s.io/kubernetes; etcd, containerd, CoreDNS,
# metrics-server, MetalLB and Traefik), deployed exactly as a user does with helmfile:
#   - node Ready, metrics API answering;
#   - `helmfile -e ci sync` from nothing: every pod Ready under Pod Security "restricted",
#     replication running, the migration hook Job done, `helm test` passing;
#   - a second sync changes no object;
#   - CRUD and read-your-writes through the Ingress at MetalLB's address, asked from a network
#     namespace on the node's bridge (so MetalLB must answer ARP), with proof that reads hit a
#     replica and writes the primary;
#   - a bad release rolls itself back, `helm rollback` of a wrong one, the release on a schema a
#     newer release migrated, k6 making the HPA scale out and in;
#   - a zero-downtime rollout and self-healing (API pods, the replica, the primary deleted) under
#     k6's steady load, every acknowledged write found in the table afterwards;
#   - prometheus-operator's Prometheus: targets, rules and every panel on live data, the
#     replication alert pending then firing; the backup Job and the restore drill;
#   - teardown leaves nothing on the host and every host setting as it was.
# Every failed request of every step is counted and printed. CLUSTER_FIGURES=<file> writes the
# figures of a passing run there (make cluster-figures).
# helm-diff cannot be had here, so the suite runs `helmfile sync` where users run `apply`
# (tests/helmfile checks apply's own settings).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$repo/bin:$repo/.venv/bin:$PATH"
# shellcheck source=scripts/cluster/lib.sh
. "$repo/scripts/cluster/lib.sh"
cluster="$repo/scripts/cluster/cluster.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/catalog-cluster.XXXXXX")
export KUBECONFIG="$KUBECONFIG_ADMIN"


# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh"

# The figures of this run (figure "what" "value"); with CLUSTER_FIGURES=<file> they are written
# there as Markdown at the end (make cluster-figures: docs/cluster-figures.md).
figure() { printf '%s\t%s\n' "$1" "$2" >> "$work/figures.tsv"; }
host_settings() { "$cluster" host-settings; }
host_settings > "$work/host-settings.before"
load_at_start=$(cut -d' ' -f1 /proc/loadavg)

cleanup() {
  local status=$?
  if [ $failed -gt 0 ] || [ $status -ne 0 ]; then
    echo "--- diagnostics"
    kubectl get pods -A -o wide 2>&1 | sed 's/^/     /' || true
    kubectl -n catalog get events --sort-by=.lastTimestamp 2>&1 | tail -n 30 | sed 's/^/     /' || true
    for log in "$CLUSTER_STATE"/logs/*.log; do
      [ -f "$log" ] || continue
      echo "     == $(basename "$log") (last lines)"
      tail -n 8 "$log" | sed 's/^/       /'
    done
  fi
  "$cluster" down > "$work/down.log" 2>&1 || cat "$work/down.log"
  if "$cluster" check-clean && host_settings | diff "$work/host-settings.before" - > "$work/settings.diff"; then
    echo "ok   teardown: nothing left on the host, host settings as before"
  else
    echo "FAIL teardown left something (above) or changed a host setting:"; cat "$work/settings.diff"
    status=1
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "shellcheck"
check "cluster scripts and this suite" shellcheck -x "$repo"/scripts/cluster/*.sh "$repo/tests/suites/80-cluster.sh"

step "the cluster comes up (state in $CLUSTER_STATE)"
up_start=$SECONDS
if ! "$cluster" up > "$work/up.log" 2>&1; then
  cat "$work/up.log"; exit 1
fi
sed 's/^/     /' "$work/up.log"
ok "cluster up in $((SECONDS - up_start))s"
figure "cluster up (components cached)" "$((SECONDS - up_start)) s"
check_eq "node $NODE_NAME Ready" True \
  kubectl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'
check_eq "API server reports the version it was built as" "$KUBERNETES_VERSION" \
  sh -c "kubectl version -o json | jq -r .serverVersion.gitVersion"
check "metrics-server answers kubectl top (real CPU figures)" kubectl top node "$NODE_NAME"
sed 's/^/     /' "$work/out"
guard_rules() { # the guard's DROP rules on each uplink for the cluster's /16, first in mangle
  local dev
  for dev in $(uplink); do
    iptables -t mangle -C CATALOG-GUARD-IN -i "$dev" -d "$CLUSTER_SUPERNET" -j DROP &&
      iptables -t mangle -C CATALOG-GUARD-OUT -o "$dev" -s "$CLUSTER_SUPERNET" -j DROP &&
      iptables -t mangle -C CATALOG-GUARD-OUT -o "$dev" -d "$CLUSTER_SUPERNET" -j DROP || return 1
  done
  [ "$(iptables -t mangle -S PREROUTING | sed -n 2p)" = "-A PREROUTING -j CATALOG-GUARD-IN" ] &&
    [ "$(iptables -t mangle -S POSTROUTING | sed -n 2p)" = "-A POSTROUTING -j CATALOG-GUARD-OUT" ]
}
check "the guard drops $CLUSTER_SUPERNET on the uplink (first in mangle PREROUTING and POSTROUTING)" guard_rules
check "cluster DNS resolves the kubernetes Service, nothing outside" \
  sh -c "dig +short @$CLUSTER_DNS_IP kubernetes.default.svc.cluster.local | grep -qx $KUBERNETES_SERVICE_IP \
         && dig +time=2 +tries=1 @$CLUSTER_DNS_IP example.com | grep -q 'status: SERVFAIL'"

step "helmfile -e ci sync from nothing"
sync() { "$repo/scripts/cluster/deploy.sh"; }
sync_start=$SECONDS
if sync > "$work/sync1.log" 2>&1; then
  ok "first sync in $((SECONDS - sync_start))s"
  figure "first helmfile sync, from nothing to every pod Ready" "$((SECONDS - sync_start)) s"
else
  not_ok "first sync"; tail -n 60 "$work/sync1.log" | sed 's/^/     /'; exit 1
fi

step "everything Ready under Pod Security restricted"
check_eq "namespace catalog enforces restricted" restricted \
  kubectl get namespace catalog -o 'jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}'
kubectl -n catalog get pods -o wide | sed 's/^/     /'
not_ready=$(kubectl -n catalog get pods -o json | jq -r '.items[]
  | select(.status.phase != "Succeeded")
  | select([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length == 0)
  | .metadata.name')
check_eq "every pod of the release Ready" "" echo "$not_ready"
check_eq "no pod was refused by Pod Security admission" "" \
  sh -c "kubectl -n catalog get events -o json | jq -r '.items[] | select(.message | test(\"violates PodSecurity\")) | .message'"
# root_sql POD STATEMENT: as root over the server's socket, with the chart's own client helper.
root_sql() {
  kubectl -n catalog exec "$1" -c mariadb -- bash -c \
    ". /opt/mysql/scripts/lib.sh && sql_as root --socket=/run/mysqld/mysqld.sock -N -B -e \"\$0\"" "$2"
}
replicating() { # the replica's IO and SQL threads both run
  [ "$(root_sql mysql-1 'SHOW SLAVE STATUS' | awk -F '\t' '{ print $11, $12 }')" = "Yes Yes" ]
}
check "the replica replicates (IO and SQL threads running)" replicating
app_version=$(chart_mariadb_version)
server_version=$(root_sql mysql-0 'SELECT VERSION()')
echo "     mysql-0: SELECT VERSION() = $server_version (chart appVersion $app_version)"
check "mysql-0 runs the chart's MariaDB series (${app_version%.*})" same_series "$server_version" "$app_version"
exporter_image=$(kubectl -n catalog get pod mysql-0 -o jsonpath='{.spec.containers[?(@.name=="exporter")].image}')
exporter_tag=$(chart_exporter_version)
echo "     mysql-0's exporter sidecar: $exporter_image (chart's tag v$exporter_tag)"
check "the exporter sidecar runs the chart's mysqld-exporter series (v${exporter_tag%.*})" \
  same_series "${exporter_image##*:v}" "$exporter_tag"
# The hook Job is deleted once it succeeds (hook-delete-policy); its events stay.
check_eq "the migration hook Job ran to completion" Completed \
  sh -c "kubectl -n catalog get events --field-selector involvedObject.kind=Job -o json \
         | jq -r '[.items[] | select(.involvedObject.name | test(\"migrat\")) | .reason] | last'"
check_eq "release deployed" deployed \
  sh -c "helm status catalog --namespace catalog --kubeconfig '$KUBECONFIG' -o json | jq -r .info.status"
hpa_cpu() { # both HPAs report a CPU utilisation from metrics-server
  local name
  for name in catalog-write-api catalog-read-api; do
    [ -n "$(kubectl -n catalog get hpa "$name" -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}')" ] || return 1
  done
}
hpa_reads_cpu=false
for _ in $(seq 90); do
  if hpa_cpu 2> /dev/null; then hpa_reads_cpu=true; break; fi
  sleep 2
done
check "both HPAs read the pods' CPU from metrics-server" "$hpa_reads_cpu"
kubectl -n catalog get hpa | sed 's/^/     /'
check "helm test passes (create, read with the token, delete through the Services)" \
  helm test catalog --namespace catalog --kubeconfig "$KUBECONFIG" --logs
sed -n '1,12p' "$work/out" | sed 's/^/     /'

step "a second sync changes no object"
snapshot() {
  kubectl -n catalog get deployments,statefulsets,services,configmaps,secrets,networkpolicies,poddisruptionbudgets,horizontalpodautoscalers,ingresses,servicemonitors,prometheusrules,cronjobs,serviceaccounts,persistentvolumeclaims \
    -o json | jq -r '.items[] | "\(.kind)/\(.metadata.name) generation=\(.metadata.generation // "-") resourceVersion=\(.metadata.resourceVersion)"' \
    | grep -v '^Secret/sh\.helm\.release' | sort
}
snapshot > "$work/objects.before"
helm get manifest catalog --namespace catalog --kubeconfig "$KUBECONFIG" > "$work/manifest.before"
if sync > "$work/sync2.log" 2>&1; then ok "second sync"; else not_ok "second sync"; tail -n 40 "$work/sync2.log" | sed 's/^/     /'; fi
snapshot > "$work/objects.after"
helm get manifest catalog --namespace catalog --kubeconfig "$KUBECONFIG" > "$work/manifest.after"
echo "     $(wc -l < "$work/objects.before") objects compared"
check "no object changed (generation and resourceVersion)" diff "$work/objects.before" "$work/objects.after"
check "the rendered manifest is identical" diff "$work/manifest.before" "$work/manifest.after"

step "CRUD and read-your-writes through the Ingress at MetalLB's address"
ingress_ip=$(kubectl -n catalog get ingress -o jsonpath='{.items[0].status.loadBalancer.ingress[0].ip}')
check_eq "the Ingress is published at the pool's first address" "$METALLB_FIRST" echo "$ingress_ip"
# A client of its own on the node's bridge: its requests reach the address only if MetalLB's
# speaker answers ARP for it there.
ip netns add catalog-lb-client
ip link add catalog-lb-host type veth peer name eth0 netns catalog-lb-client
ip link set catalog-lb-host master "$NODE_BRIDGE" up
client_ip=${NODE_IP%.*}.9
ip netns exec catalog-lb-client ip addr add "$client_ip/${NODE_CIDR#*/}" dev eth0
ip netns exec catalog-lb-client ip link set eth0 up
ip netns exec catalog-lb-client ip link set lo up
# The runbooks' name resolution, for the client namespace only (ip netns exec mounts this file
# over /etc/hosts; teardown removes it).
mkdir -p /etc/netns/catalog-lb-client
echo "$ingress_ip catalog.local" > /etc/netns/catalog-lb-client/hosts
# write-api requires a bearer token: one signed with the cluster's issuer key (deploy.sh makes it).
auth_key="$CLUSTER_STATE/auth/private.pem"
authorization="Authorization: Bearer $(python3 "$repo/scripts/catalog-token.py" mint --key "$auth_key" \
  --issuer catalog-local --audience catalog --subject cluster-suite --ttl 3600)"
k6_auth=(-e "AUTH_KEY_FILE=$auth_key" -e AUTH_ISSUER=catalog-local -e AUTH_AUDIENCE=catalog)
api() { # api METHOD PATH [curl args...]: status printed, headers in $work/h, body in $work/b
  local method=$1 path=$2; shift 2
  [[ $path == /api/write/* ]] && set -- -H "$authorization" "$@"
  ip netns exec catalog-lb-client curl -sS --max-time 10 --resolve "catalog.local:80:$ingress_ip" \
    -X "$method" -D "$work/h" -o "$work/b" -w '%{http_code}' "$@" "http://catalog.local$path"
}
header() { sed -n "s/^$1: *//Ip" "$work/h" | tr -d '\r'; }
json=(-H 'Content-Type: application/json')
sku="cluster-$RANDOM$RANDOM"
check_eq "POST /api/write/v1/items -> 201" 201 api POST /api/write/v1/items "${json[@]}" \
  -d "{\"sku\":\"$sku\",\"name\":\"Cluster\",\"price_cents\":4200,\"currency\":\"EUR\",\"stock\":2}"
id=$(jq -r .id "$work/b")
token=$(header x-consistency-token)
check "MetalLB's speaker answered ARP for $ingress_ip on $NODE_BRIDGE" \
  sh -c "ip netns exec catalog-lb-client ip neigh show $ingress_ip | grep -q lladdr"
check_eq "GET with the write's token -> 200 (read-your-writes)" 200 \
  api GET "/api/read/v1/items/$id" -H "X-Consistency-Token: $token"
check_eq "  the item as written" "$sku 4200" jq -r '"\(.sku) \(.price_cents)"' "$work/b"
check_eq "PATCH -> 200" 200 api PATCH "/api/write/v1/items/$id" -H 'Content-Type: application/merge-patch+json' \
  -H 'If-Match: "1"' -d '{"stock":7}'
token=$(header x-consistency-token)
check_eq "GET with the PATCH's token -> 200" 200 api GET "/api/read/v1/items/$id" -H "X-Consistency-Token: $token"
check_eq "  sees version 2 with the new stock" "2 7" jq -r '"\(.version) \(.stock)"' "$work/b"
check_eq "DELETE -> 204" 204 api DELETE "/api/write/v1/items/$id"
token=$(header x-consistency-token)
check_eq "GET after DELETE with its token -> 404" 404 api GET "/api/read/v1/items/$id" -H "X-Consistency-Token: $token"

step "reads hit a replica, writes the primary (server counters)"
counter() { root_sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" | cut -f2; }
seed=$(api POST /api/write/v1/items "${json[@]}" \
  -d "{\"sku\":\"$sku-seed\",\"name\":\"Seed\",\"price_cents\":1,\"currency\":\"EUR\",\"stock\":1}" > /dev/null; jq -r .id "$work/b")
sleep 1
# The read Service holds every ready database pod, the primary included, and read-api's pooled
# connection stays where it was opened (until database.max_lifetime_secs, 300 s): at the first
# sync mysql-0 was Ready before mysql-1, so it is on the primary. Each restart of read-api opens it
# anew, each connection on one of the two at kube-proxy's choice; the suite restarts until all of
# them are on the replica, then reads one at a time. Here a try succeeded about one time in four
# (read-api may hold more than one connection), so 40 tries leave about a 1 in 100,000 chance.
# The pool may open another connection during the reads (when a request finds its connection
# still being pinged on release), which may land on the primary: then the counters cannot tell,
# and the suite restarts and reads again, at most 5 times.
connections() { root_sql "$1" "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '$2'"; }
reader_on_replica_only() {
  [ "$(connections mysql-1 catalog_reader)" -gt 0 ] && [ "$(connections mysql-0 catalog_reader)" -eq 0 ]
}
restart_read_api() {
  kubectl -n catalog rollout restart deployment/catalog-read-api > /dev/null
  kubectl -n catalog rollout status deployment/catalog-read-api --timeout=120s > /dev/null
  # The old pod drains, then exits and closes its connections.
  for _ in $(seq 60); do
    [ "$(kubectl -n catalog get pods -o name | grep -c '^pod/catalog-read-api-')" -eq 1 ] && break
    sleep 1
  done
}
reads=100 writes=20 restarts=0
for measurement in 1 2 3 4 5; do
  until reader_on_replica_only || [ $restarts -ge 40 ]; do
    restarts=$((restarts + 1))
    restart_read_api
  done
  select0=$(counter mysql-0 Com_select); select1=$(counter mysql-1 Com_select)
  read_failures=0
  for _ in $(seq "$reads"); do [ "$(api GET "/api/read/v1/items/$seed")" = 200 ] || read_failures=$((read_failures + 1)); done
  d_select0=$(( $(counter mysql-0 Com_select) - select0 )); d_select1=$(( $(counter mysql-1 Com_select) - select1 ))
  reader_on_replica_only && break
  echo "     measurement $measurement: read-api opened a connection on the primary meanwhile; again"
  restarts=$((restarts + 1))
  restart_read_api
done
check "read-api's connections stayed on the replica ($restarts restart(s), $measurement measurement(s))" reader_on_replica_only
write_failures=0
insert0=$(counter mysql-0 Com_insert)
for i in $(seq "$writes"); do
  [ "$(api POST /api/write/v1/items "${json[@]}" \
    -d "{\"sku\":\"$sku-w$i\",\"name\":\"Write $i\",\"price_cents\":1,\"currency\":\"EUR\",\"stock\":1}")" = 201 ] \
    || write_failures=$((write_failures + 1))
done
d_insert0=$(( $(counter mysql-0 Com_insert) - insert0 ))
echo "     $reads GETs ($read_failures failed): mysql-0 Com_select +$d_select0, mysql-1 Com_select +$d_select1; $writes POSTs ($write_failures failed): mysql-0 Com_insert +$d_insert0"
check_eq "every request answered" "0 0" echo "$read_failures $write_failures"
check "the replica ran a SELECT for every GET" test "$d_select1" -ge "$reads"
check "the primary served none of them" test "$d_select0" -lt $((reads / 2))
check "the primary ran one INSERT per POST" test "$d_insert0" -ge "$writes"
check "write-api's catalog_writer is connected to the primary" test "$(connections mysql-0 catalog_writer)" -gt 0
check_eq "  and not to the replica" 0 connections mysql-1 catalog_writer

# Traffic through the Ingress while a step runs: one GET and one POST every 0.2 s from the
# client namespace, each answer's status recorded. traffic_stop sets requests and failures.
traffic_start() {
  rm -f "$work/traffic.stop" "$work/traffic.status"
  (
    n=0
    until [ -f "$work/traffic.stop" ]; do
      n=$((n + 1))
      ip netns exec catalog-lb-client curl -sS -o /dev/null -w '%{http_code} GET\n' --max-time 5 \
        --resolve "catalog.local:80:$ingress_ip" "http://catalog.local/api/read/v1/items/$seed" >> "$work/traffic.status" 2>&1
      ip netns exec catalog-lb-client curl -sS -o /dev/null -w '%{http_code} POST\n' --max-time 5 \
        --resolve "catalog.local:80:$ingress_ip" -H "$authorization" -H 'Content-Type: application/json' \
        -d "{\"sku\":\"$sku-t$n-$RANDOM\",\"name\":\"Traffic\",\"price_cents\":1,\"currency\":\"EUR\",\"stock\":1}" \
        "http://catalog.local/api/write/v1/items" >> "$work/traffic.status" 2>&1
      sleep 0.2
    done
  ) &
  traffic_pid=$!
}
traffic_stop() {
  touch "$work/traffic.stop"
  wait "$traffic_pid"
  requests=$(wc -l < "$work/traffic.status")
  failures=$(grep -cvE '^(200 GET|201 POST)$' "$work/traffic.status" || true)
  # What the failed ones answered, if any.
  grep -vE '^(200 GET|201 POST)$' "$work/traffic.status" | sort | uniq -c | sed 's/^/       /' || true
}
# k6's steady scenario (loadtest/scenarios/steady.js) through the Ingress, in the background:
# steady_start NAME DURATION returns once it sends; steady_wait NAME waits for its end and sets
# requests, failures and acked. Each failed request is a line "<epoch ms> <kind> <status> <type>"
# in $work/NAME.failed, each acknowledged write's SKU a line of $work/NAME.acked. The suite counts
# failures itself, so k6's own threshold is set to tolerate them (MAX_FAILED=1).
steady_start() {
  local name=$1 duration=$2
  mkdir -p "$work/$name"
  : > "$work/$name.console"
  ip netns exec catalog-lb-client k6 run --quiet --console-output="$work/$name.console" "${k6_auth[@]}" \
    -e BASE_URL=http://catalog.local -e SUMMARY_DIR="$work/$name" -e DURATION="$duration" \
    -e SKU_PREFIX="$name-$(date +%s)" -e MAX_FAILED=1 "$repo/loadtest/scenarios/steady.js" \
    > "$work/$name.log" 2>&1 &
  steady_pid=$!
  for _ in $(seq 30); do
    grep -q 'ACK ' "$work/$name.console" 2> /dev/null && return 0
    sleep 1
  done
  echo "     k6 sent no write within 30 s:"; tail -n 5 "$work/$name.log" | sed 's/^/       /'
}
steady_wait() {
  local name=$1
  wait "$steady_pid" || true
  sed -n 's/.*msg="ACK \([^ ]*\) .*/\1/p' "$work/$name.console" | sort > "$work/$name.acked"
  sed -n 's/.*msg="FAIL \(.*\)"$/\1/p' "$work/$name.console" > "$work/$name.failed"
  requests=$(jq '.metrics.http_reqs.values.count' "$work/$name/steady-summary.json")
  failures=$(wc -l < "$work/$name.failed")
  acked=$(wc -l < "$work/$name.acked")
  echo "     k6: $requests requests, $failures failed, $acked writes acknowledged"
  cut -d' ' -f2- "$work/$name.failed" | sort | uniq -c | sed 's/^/       /'
}
# acked_in_table NAME: every write the run had acknowledged is in the primary's table.
acked_in_table() {
  root_sql mysql-0 "SELECT sku FROM catalog.items WHERE sku LIKE '$1-%'" | sort > "$work/$1.table"
  comm -23 "$work/$1.acked" "$work/$1.table" > "$work/$1.lost"
  [ -s "$work/$1.acked" ] && [ ! -s "$work/$1.lost" ]
}
revision() { helm status catalog --namespace catalog --kubeconfig "$KUBECONFIG" -o json | jq -r .version; }
show_history() { helm history catalog --namespace catalog --kubeconfig "$KUBECONFIG" | sed 's/^/     /'; }

step "a bad release rolls itself back (docs/rollback.md, 'It fails to become ready')"
# read-api refuses this setting at start (min_connections above max_connections), so its new pods
# never become ready; helmfile's atomic sync must fail and Helm must return to the last revision.
good=$(revision)
traffic_start
bad_start=$SECONDS
if "$repo/scripts/cluster/deploy.sh" --timeout 90 --set readApi.config.database.min_connections=20 > "$work/bad.log" 2>&1; then
  not_ok "the bad release's sync failed"
else
  ok "the bad release's sync failed after $((SECONDS - bad_start))s"
  figure "bad release: sync failed and Helm rolled back by itself after" "$((SECONDS - bad_start)) s"
fi
traffic_stop
echo "     traffic during the bad release: $requests requests, $failures failed"
figure "bad release: requests failed while it was tried and rolled back" "$failures of $requests"
check_eq "no request failed while it was tried and rolled back" 0 echo "$failures"
check "Helm rolled back by itself" sh -c "helm history catalog --namespace catalog --kubeconfig '$KUBECONFIG' -o json \
  | jq -e --argjson good $good 'last | .description == \"Rollback to \\(\$good)\" and .status == \"deployed\"'"
show_history
check "read-api runs the good revision's pods only" kubectl -n catalog rollout status deployment/catalog-read-api --timeout=60s

step "helm rollback of a release that deploys but is wrong (docs/rollback.md, sections 2 and 3)"
# The runbook's commands, on the deployed copy of the chart (the repository's with its dependencies).
before=$(revision)
traffic_start
check "upgrade to a read-api image that does not exist, without waiting" \
  helm -n catalog upgrade catalog "$CLUSTER_STATE/deploy/charts/catalog" --reuse-values \
  --set readApi.image.tag=0.0.0-broken --kubeconfig "$KUBECONFIG"
check_eq "the broken revision is deployed" deployed \
  sh -c "helm status catalog --namespace catalog --kubeconfig '$KUBECONFIG' -o json | jq -r .info.status"
broken_pod_waits() {
  kubectl -n catalog get pods -o json | jq -e '[.items[]
    | select(.spec.containers[0].image | endswith(":0.0.0-broken"))
    | .status.containerStatuses[0].state.waiting.reason]
    | any(. == "ErrImageNeverPull" or . == "ImagePullBackOff" or . == "ErrImagePull")' > /dev/null
}
broken_waits=false
for _ in $(seq 60); do
  if broken_pod_waits; then broken_waits=true; break; fi
  sleep 1
done
check "its read-api pod cannot start (no such image)" "$broken_waits"
rollback_start=$SECONDS
check "helm -n catalog rollback catalog $before --wait" \
  helm -n catalog rollback catalog "$before" --wait --kubeconfig "$KUBECONFIG"
check "read-api rolled out again" kubectl -n catalog rollout status deployment/catalog-read-api --timeout=120s
echo "     rollback done in $((SECONDS - rollback_start))s"
figure "helm rollback --wait, to read-api rolled out again" "$((SECONDS - rollback_start)) s"
traffic_stop
echo "     traffic from the broken upgrade to the rollback: $requests requests, $failures failed"
figure "helm rollback: requests failed from the broken upgrade to the rollback" "$failures of $requests"
check_eq "no request failed (maxUnavailable 0 kept the old pods serving)" 0 echo "$failures"
check "the history shows the broken revision superseded by the rollback" sh -c "helm history catalog --namespace catalog --kubeconfig '$KUBECONFIG' -o json \
  | jq -e --argjson before $before '.[-1].description == \"Rollback to \\(\$before)\" and .[-2].status == \"superseded\"'"
show_history

step "the release runs on a schema a newer release migrated (docs/rollback.md, 'Why the old code runs on the newer schema')"
# What a newer release's migration may do by the expand rule, and what a rollback leaves behind:
# a nullable column added and the migration recorded. The next upgrade runs this release's hook Job.
root_sql mysql-0 "ALTER TABLE catalog.items ADD COLUMN newer_release_note VARCHAR(64) NULL;
  INSERT INTO catalog.seaql_migrations VALUES ('m20991231_000001_newer_release', UNIX_TIMESTAMP())"
traffic_start
check "helmfile sync: this release's migration hook Job accepts the newer schema" "$repo/scripts/cluster/deploy.sh"
traffic_stop
echo "     traffic on the newer schema: $requests requests, $failures failed"
check_eq "reads and writes all answered" 0 echo "$failures"
check_eq "the newer release's migration is still recorded" 1 \
  root_sql mysql-0 "SELECT COUNT(*) FROM catalog.seaql_migrations WHERE version = 'm20991231_000001_newer_release'"
root_sql mysql-0 "ALTER TABLE catalog.items DROP COLUMN newer_release_note;
  DELETE FROM catalog.seaql_migrations WHERE version = 'm20991231_000001_newer_release'"

step "k6 through the Ingress makes the HPA scale out, and in after the load (docs/load-test-hpa.md)"
# The test's values only: a 15 s scale-down window instead of 120 s, so scale-in shows quickly.
check "a 15 s scale-down window for this test (helmfile sync)" "$repo/scripts/cluster/deploy.sh" \
  --set readApi.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=15 \
  --set writeApi.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=15
replicas() { kubectl -n catalog get deployment "catalog-$1" -o jsonpath='{.status.replicas}'; }
utilisation() { kubectl -n catalog get hpa "catalog-$1" -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}'; }
hpa_start=$SECONDS
(
  until [ -f "$work/hpa.stop" ]; do
    echo "$((SECONDS - hpa_start)) $(replicas read-api) $(utilisation read-api) $(replicas write-api) $(utilisation write-api)"
    sleep 5
  done
) > "$work/hpa.samples" 2>/dev/null &
sampler=$!
k6_status=0
ip netns exec catalog-lb-client k6 run --quiet --console-output="$work/hpa.console" "${k6_auth[@]}" \
  -e BASE_URL=http://catalog.local -e SUMMARY_DIR="$work" \
  -e PEAK_RATE=250 -e RAMP=20s -e HOLD=70s -e RAMP_DOWN=10s "$repo/loadtest/scenarios/hpa.js" \
  > "$work/k6.log" 2>&1 || k6_status=$?
load_end=$((SECONDS - hpa_start))
sed -n '/^hpa:/,$p' "$work/k6.log" | sed 's/^/     /'
k6_requests=$(jq '.metrics.http_reqs.values.count' "$work/hpa-summary.json")
# A request failed when its check did (each logs a FAIL line); a read-your-writes GET that met a
# lagging replica's 503 replica-lag is retried once after its Retry-After, as the contract asks.
k6_failed=$(grep -c 'msg="FAIL ' "$work/hpa.console" || true)
k6_retried=$(grep -c 'msg="RETRY ' "$work/hpa.console" || true)
echo "     k6 (exit $k6_status; its latency SLOs are not the point here): $k6_requests requests, $k6_failed failed," \
  "$k6_retried reads retried after 503 replica-lag"
# What failed or was retried, when (seconds into the load): "<s> <kind> <status> <type> <op>".
sed -n 's/.*msg="\(FAIL\|RETRY\) \(.*\)"$/\1 \2/p' "$work/hpa.console" |
  awk -v t0="$(($(date +%s) - load_end))" '{ $2 = int($2 / 1000 - t0) "s"; print "       " $0 }' | head -n 20
check_eq "no request failed under the load" 0 echo "$k6_failed"
scaled_in=false
for _ in $(seq 60); do
  if [ "$(replicas read-api)" = 1 ] && [ "$(replicas write-api)" = 1 ]; then
    scaled_in=true in_at=$((SECONDS - hpa_start)); break
  fi
  sleep 5
done
touch "$work/hpa.stop"; wait "$sampler"
echo "     seconds  read-api pods (CPU % of request)  write-api pods (CPU %)   [load ran 0-${load_end}s]"
awk '{ printf "     %6ss  %2s (%s%%)  %2s (%s%%)\n", $1, $2, $3, $4, $5 }' "$work/hpa.samples"
out_at=$(awk '$2 > 1 { print $1; exit }' "$work/hpa.samples")
peak=$(awk '$2 > max { max = $2 } END { print max }' "$work/hpa.samples")
echo "     read-api: above minReplicas (1) after ${out_at:-never}s, at most $peak pods"
figure "HPA: read-api above 1 pod after the load began" "${out_at:-never} s (load ${load_end} s, at most $peak pods)"
[ "$scaled_in" = true ] && figure "HPA: both APIs back to 1 pod after the load ended (15 s scale-down window)" "$((in_at - load_end)) s"
figure "HPA: k6 requests failed" "$k6_failed of $k6_requests"
check "read-api scaled out within the load (above 1 pod by ${load_end}s)" test "${out_at:-9999}" -le "$load_end"
check "both APIs scaled back in to 1 pod after the load (15 s window)" "$scaled_in"

step "zero-downtime rollout: both APIs to a new image tag under k6 (docs/quickstart-cluster.md, 'Upgrade')"
old_tag=$(sed -n 's#^docker.io/catalog/write-api:##p' <<< "$("$repo/scripts/cluster/images.sh" refs)")
new_tag=$old_tag-next
# The same images under a new tag: a changed tag is what makes both Deployments roll.
for api in write-api read-api; do
  ctr --address "$CONTAINERD_SOCKET" -n k8s.io images tag --force \
    "docker.io/catalog/$api:$old_tag" "docker.io/catalog/$api:$new_tag" > /dev/null
done
steady_start rollout 50s
rollout_start=$SECONDS
check "helmfile sync --state-values-set imageTag=$new_tag" \
  "$repo/scripts/cluster/deploy.sh" --state-values-set "imageTag=$new_tag"
# Done when only the new pods are left: the old ones drain (preStop) and exit.
only_new_pods() {
  kubectl -n catalog get pods -l 'app.kubernetes.io/name in (write-api,read-api)' -o json |
    jq -e --arg tag ":$new_tag" '.items | length > 0 and all(.spec.containers[0].image | endswith($tag))' > /dev/null
}
for _ in $(seq 90); do only_new_pods && break; sleep 1; done
check "both APIs run $new_tag only" only_new_pods
echo "     rollout done in $((SECONDS - rollout_start))s"
figure "rollout of both APIs to a new tag, sync to the last old pod gone" "$((SECONDS - rollout_start)) s"
steady_wait rollout
figure "rollout: k6 requests failed" "$failures of $requests"
check_eq "no request failed during the rollout" 0 echo "$failures"
check "every acknowledged write ($acked) is in the table" acked_in_table rollout

# Before self-healing: its 503s would give the 5xx panel series that tests/cluster/expected-empty.txt
# says a healthy cluster does not have.
step "monitoring: prometheus-operator's Prometheus on live data, and the replication alert (docs/grafana.md)"
# The core of kube-prometheus-stack (scripts/cluster/monitoring.sh): a Prometheus selecting our
# ServiceMonitors and PrometheusRules with the selectors the stack renders from our values.
prometheus_url=$("$repo/scripts/cluster/monitoring.sh" url)
check "targets up, every rule loaded, every panel and rule expression evaluated (tests/cluster/monitoring_check.py)" \
  python3 "$repo/tests/cluster/monitoring_check.py" "$prometheus_url"
grep -E '^(ok   target|ok   rules|FAIL)|expressions:' "$work/out" | sed 's/^/     /'
alert_state() { # the state of MySQLReplicationSQLThreadStopped for mysql-1, if any
  curl -fsS "$prometheus_url/api/v1/alerts" | jq -r '.data.alerts[]
    | select(.labels.alertname == "MySQLReplicationSQLThreadStopped" and .labels.pod == "mysql-1") | .state'
}
check_eq "MySQLReplicationSQLThreadStopped is quiet while the replica replicates" "" alert_state
root_sql mysql-1 "STOP SLAVE SQL_THREAD"
stopped_at=$SECONDS pending_at="" firing_at=""
for _ in $(seq 240); do
  case $(alert_state) in
    pending) pending_at=${pending_at:-$((SECONDS - stopped_at))} ;;
    firing) firing_at=$((SECONDS - stopped_at)); break ;;
  esac
  sleep 1
done
check "STOP SLAVE SQL_THREAD on mysql-1: the alert went pending (after ${pending_at:-never}s)" test -n "$pending_at"
check "  then firing (after ${firing_at:-never}s; its for: is 2m)" test -n "$firing_at"
figure "replication alert after STOP SLAVE SQL_THREAD: pending, then firing (for: 2m)" "${pending_at:-never} s, ${firing_at:-never} s"
root_sql mysql-1 "START SLAVE SQL_THREAD"
for _ in $(seq 60); do [ -z "$(alert_state)" ] && break; sleep 1; done
check_eq "  and resolved once the SQL thread runs again" "" alert_state
check "the replica replicates again" replicating

step "self-healing under k6: API pods, the replica and the primary deleted (docs/mysql-failover.md, 'Pods that die')"
# Two pods per API, as staging and production run them: with one, the Ingress has nowhere to send
# requests from the deletion until the new pod is ready (Traefik sends nothing to a terminating
# endpoint while no other endpoint is ready), and they get its 503.
check "two pods per API (helmfile sync, HPA minReplicas 2)" "$repo/scripts/cluster/deploy.sh" \
  --state-values-set "imageTag=$new_tag" \
  --set readApi.autoscaling.minReplicas=2 --set writeApi.autoscaling.minReplicas=2
api_pods_ready() { # api_pods_ready API N: exactly N pods, all Ready
  kubectl -n catalog get pods -l "app.kubernetes.io/name=$1" -o json | jq -e --argjson n "$2" \
    '(.items | length == $n) and all(.items[]; any(.status.conditions[]?; .type == "Ready" and .status == "True"))' > /dev/null
}
for _ in $(seq 90); do api_pods_ready read-api 2 && api_pods_ready write-api 2 && break; sleep 1; done
check "  read-api has 2 Ready pods" api_pods_ready read-api 2
check "  write-api has 2 Ready pods" api_pods_ready write-api 2
restarts() { kubectl -n catalog get pods -l app.kubernetes.io/name=write-api -o json | jq '[.items[].status.containerStatuses[0].restartCount] | add'; }
pod_uid() { kubectl -n catalog get pod "$1" -o jsonpath='{.metadata.uid}' 2> /dev/null; }
# back_ready POD OLD_UID: waits up to 5 min until a new POD is Ready; sets back_in (seconds).
back_ready() {
  local start=$SECONDS
  for _ in $(seq 300); do
    if [ "$(pod_uid "$1")" != "$2" ] && [ "$(kubectl -n catalog get pod "$1" \
      -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2> /dev/null)" = True ]; then
      back_in=$((SECONDS - start)); return 0
    fi
    sleep 1
  done
  return 1
}

steady_start api-pods 40s
for api in read-api write-api; do
  # (jsonpath, not `| head`: under pipefail, head leaving early can kill kubectl with SIGPIPE)
  pod=$(kubectl -n catalog get pods -l "app.kubernetes.io/name=$api" -o 'jsonpath={.items[0].metadata.name}')
  replace_start=$SECONDS
  kubectl -n catalog delete pod "$pod" --wait=false > /dev/null
  sleep 2
  for _ in $(seq 120); do api_pods_ready "$api" 2 && break; sleep 1; done
  check "$api: $pod deleted, 2 Ready pods again after $((SECONDS - replace_start))s" api_pods_ready "$api" 2
  figure "$api pod deleted: 2 Ready pods again after" "$((SECONDS - replace_start)) s"
done
steady_wait api-pods
figure "API pods deleted: k6 requests failed" "$failures of $requests"
check_eq "no request failed (the other pod served while the Deployment replaced one)" 0 echo "$failures"
check "every acknowledged write ($acked) is in the table" acked_in_table api-pods

# Failures a database pod's loss may cause: the API's own 503 with a problem body, nothing else.
unexplained() { grep -v " $1 503 /problems/" "$work/$2.failed" || true; }
steady_start replica 40s
uid=$(pod_uid mysql-1)
kubectl -n catalog delete pod mysql-1 --wait=false > /dev/null
check "mysql-1 deleted: back Ready" back_ready mysql-1 "$uid"
echo "     mysql-1 Ready again after ${back_in:-?}s"
figure "replica pod deleted: Ready again after" "${back_in:-?} s"
primary_pos=$(root_sql mysql-0 "SELECT @@gtid_binlog_pos")
check_eq "  and caught up with the primary (MASTER_GTID_WAIT $primary_pos)" 0 \
  root_sql mysql-1 "SELECT MASTER_GTID_WAIT('$primary_pos', 60)"
steady_wait replica
figure "replica pod deleted: k6 requests failed" "$failures of $requests"
check_eq "writes all answered" 0 sh -c "grep -c ' write ' '$work/replica.failed' || true"
check_eq "reads failed only with read-api's 503 and a problem body" "" unexplained read replica
check "every acknowledged write ($acked) is in the table" acked_in_table replica

steady_start primary 60s
restarts_before=$(restarts)
uid=$(pod_uid mysql-0)
deleted_at=$(date +%s%3N)
kubectl -n catalog delete pod mysql-0 --wait=false > /dev/null
check "mysql-0 deleted: back Ready" back_ready mysql-0 "$uid"
echo "     mysql-0 Ready again after ${back_in:-?}s"
figure "primary pod deleted: Ready again after" "${back_in:-?} s"
steady_wait primary
write_failures=$(grep -c ' write ' "$work/primary.failed" || true)
last_failure=$(awk -v t0="$deleted_at" '{ last = ($1 - t0) / 1000 } END { printf "%.1f", last }' "$work/primary.failed")
echo "     writes failed: $write_failures, the last ${last_failure}s after the deletion"
figure "primary pod deleted: k6 requests failed (writes answer 503 until it is back)" "$failures of $requests, the last ${last_failure} s after the deletion"
check "some writes answered 503 while mysql-0 was away" test "$write_failures" -gt 0
check_eq "every failed request was the APIs' 503 with a problem body" "" unexplained '[a-z]*' primary
check "no write failed after mysql-0 was Ready again (+5 s for the pool to reconnect)" \
  awk -v ready="${back_in:-0}" -v last="$last_failure" 'BEGIN { exit !(last <= ready + 5) }'
check_eq "write-api was not restarted" "$restarts_before" restarts
check "every acknowledged write ($acked) is in the table" acked_in_table primary
for _ in $(seq 60); do replicating && break; sleep 1; done
check "the replica replicates from the restarted primary again" replicating

step "backup Job and the restore drill of docs/mysql-backup-restore.md"
checksum() { kubectl -n catalog exec "$1" -c mariadb -- bash /opt/mysql/scripts/sql.sh -N -e 'CHECKSUM TABLE catalog.items' | cut -f2; }
# No writes while the backup runs, so the table's checksum at the backup is known.
kubectl -n catalog scale deployment catalog-write-api --replicas=0 > /dev/null
kubectl -n catalog wait --for=delete pod -l app.kubernetes.io/name=write-api --timeout=120s > /dev/null 2>&1 || true
at_backup=$(checksum mysql-0)
job="mysql-backup-manual-$(date +%s)"
backup_start=$SECONDS
kubectl -n catalog create job --from=cronjob/mysql-backup "$job" > /dev/null
check "the CronJob, triggered as a Job, completes" \
  kubectl -n catalog wait --for=condition=complete "job/$job" --timeout=300s
echo "     backup done in $((SECONDS - backup_start))s; catalog.items checksum at the backup: $at_backup"
figure "backup CronJob as a Job, to complete" "$((SECONDS - backup_start)) s"
kubectl -n catalog logs "job/$job" 2>&1 | tail -n 3 | sed 's/^/     /'
# A write after the backup: the restore must take it away again.
kubectl -n catalog scale deployment catalog-write-api --replicas=1 > /dev/null
kubectl -n catalog rollout status deployment/catalog-write-api --timeout=120s > /dev/null
# Traefik answers 404 until it has seen the new pod's endpoint (it scaled up from zero).
write_after_backup() {
  local i
  for i in $(seq 30); do
    [ "$(api POST /api/write/v1/items "${json[@]}" \
      -d "{\"sku\":\"$sku-after-backup\",\"name\":\"After the backup\",\"price_cents\":1,\"currency\":\"EUR\",\"stock\":1}")" = 201 ] && return 0
    sleep 1
  done
  return 1
}
check "a write after the backup (201 once Traefik routes to the new write-api pod)" write_after_backup
# Steps 1-5 of the runbook, with the test cluster's MariaDB image for the helper pod.
kubectl -n catalog scale deployment catalog-write-api --replicas=0 > /dev/null
kubectl -n catalog wait --for=delete pod -l app.kubernetes.io/name=write-api --timeout=120s > /dev/null 2>&1 || true
sed -n '/^kubectl -n catalog apply -f - <<.YAML.$/,/^YAML$/p' "$repo/docs/mysql-backup-restore.md" | sed '1d;$d' \
  | sed "s#image: docker.io/library/mariadb:.*#image: docker.io/catalog/mariadb:$(sed -n 's#^docker.io/catalog/mariadb:##p' <<< "$("$repo/scripts/cluster/images.sh" refs)")\n      imagePullPolicy: Never#" \
  | kubectl -n catalog apply -f - > /dev/null
check "the runbook's helper pod mounts the backups" kubectl -n catalog wait --for=condition=Ready pod/mysql-restore-helper --timeout=120s
dump=$(kubectl -n catalog exec mysql-restore-helper -- bash -c 'cd /backups && ls -1 *.sql.gz | tail -n 1')
echo "     newest dump: $dump"
kubectl -n catalog exec mysql-0 -c mariadb -- mkdir -p /var/lib/mysql/restore
for file in "$dump" "$dump.sha256" "${dump%.sql.gz}.info"; do
  kubectl -n catalog exec mysql-restore-helper -- cat "/backups/$file" |
    kubectl -n catalog exec -i mysql-0 -c mariadb -- bash -c "cat > /var/lib/mysql/restore/$file"
done
restore_start=$SECONDS
check "restore.sh restores the dump on the primary" \
  kubectl -n catalog exec mysql-0 -c mariadb -- bash /opt/mysql/scripts/restore.sh "/var/lib/mysql/restore/$dump"
grep -E 'restoring|restore complete' "$work/out" | sed 's/^/     /'
echo "     restore done in $((SECONDS - restore_start))s"
figure "restore.sh on the primary" "$((SECONDS - restore_start)) s"
check_eq "primary: the checksum at the backup" "$at_backup" checksum mysql-0
# The replica applies the restore from the binlog.
for _ in $(seq 60); do [ "$(checksum mysql-1)" = "$at_backup" ] && break; sleep 1; done
check_eq "replica: the same checksum" "$at_backup" checksum mysql-1
kubectl -n catalog exec mysql-0 -c mariadb -- rm -rf /var/lib/mysql/restore
kubectl -n catalog delete pod mysql-restore-helper --wait=false > /dev/null
kubectl -n catalog scale deployment catalog-write-api --replicas=1 > /dev/null
check "write-api resumes" kubectl -n catalog rollout status deployment/catalog-write-api --timeout=120s

if [ -n "${CLUSTER_FIGURES:-}" ] && [ $failed -eq 0 ]; then
  {
    echo "# Figures of the cluster suite"
    echo
    echo "Generated by \`make cluster-figures\` from one passing run of \`tests/suites/80-cluster.sh\`"
    echo "([test-cluster.md](test-cluster.md) says what each step does) on $(date -u +%Y-%m-%d), on a"
    echo "machine with $(nproc) cores (load average $load_at_start at the start). Times are wall clock"
    echo "on a single node, so they move with the machine's load; the counts of failed requests do not."
    echo
    echo "| what | figure |"
    echo "|---|---|"
    awk -F '\t' '{ printf "| %s | %s |\n", $1, $2 }' "$work/figures.tsv"
  } > "$CLUSTER_FIGURES"
  echo "figures written to $CLUSTER_FIGURES"
fi
echo
echo "cluster: $passed passed, $failed failed in $((SECONDS - checks_start))s"
[ $failed -eq 0 ]
