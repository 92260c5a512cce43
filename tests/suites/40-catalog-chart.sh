#!/usr/bin/env bash
# charts/catalog, the umbrella chart: lint, helm-unittest, values schema, kubeconform (Kubernetes
# 1.31 and 1.37, monitoring and Gateway API CRDs), Pod Security "restricted" (the admission
# controller's own library), checkov, cross-object wiring with the real mysql subchart, promtool
# check + unit tests of the alerts, and every metric name of the dashboards and rules against
# real /metrics output (mysqld-exporter on real MariaDB, the real write-api and read-api, which
# are also driven through the chart's helm test round trip).
#
# Remote subcharts cannot be downloaded here: scripts/lib/offline-chart.sh prepares a
# copy with our mysql chart unpacked and empty placeholders for the remote ones, which stay
# disabled (their values contract is asserted by check_wiring.py).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/tests/catalog-chart"
work=$(mktemp -d "${TMPDIR:-/tmp}/catalog-chart-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PATH="$repo/bin:$repo/.venv/bin:$PATH"
export LC_ALL=C  # sort and comm must agree on the order

# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh"

require_tools helm helm-unittest helm-docs kubeconform checkov promtool prometheus-mysqld-exporter mariadbd go cargo python3 curl jq shellcheck openssl

step "offline chart copy (mysql subchart unpacked, remote subcharts as placeholders)"
bash "$repo/scripts/lib/offline-chart.sh" "$work/charts"
chart="$work/charts/catalog"
ok "prepared $chart"

step "shellcheck"
check "chart and test scripts" shellcheck -x "$repo/charts/catalog/files/roundtrip-test.sh" "$here"/*.sh "$repo/tests/suites/40-catalog-chart.sh"

step "Chart.lock and README"
check "Chart.lock matches Chart.yaml (helm's digest); remote pins are published versions" \
  python3 "$here/chart_lock.py" check "$repo/charts/catalog" "$repo/helmfile.yaml"
tail -n 1 "$work/out" | sed 's/^/     /'
# The lock format and digest against real helm: `helm dependency update` needs no network for a
# copy whose only dependency is file://../mysql; chart_lock.py must accept helm's lock and write
# the same one (all but the time).
mkdir -p "$work/lock/catalog"
cp -R "$repo/charts/mysql" "$work/lock/"
python3 "$here/file_dependencies.py" "$repo/charts/catalog/Chart.yaml" "$work/lock/catalog/Chart.yaml"
lock_against_helm() {
  HELM_CACHE_HOME="$work/lock/helm" HELM_CONFIG_HOME="$work/lock/helm" HELM_DATA_HOME="$work/lock/helm" \
    helm dependency update "$work/lock/catalog" || return 1
  cp "$work/lock/catalog/Chart.lock" "$work/lock/helm.lock"
  python3 "$here/chart_lock.py" check "$work/lock/catalog" || return 1
  python3 "$here/chart_lock.py" write "$work/lock/catalog" || return 1
  diff <(grep -v '^generated:' "$work/lock/helm.lock") <(grep -v '^generated:' "$work/lock/catalog/Chart.lock")
}
check "chart_lock.py accepts the lock helm writes and writes the same (file://-only copy)" lock_against_helm
check "README.md is what helm-docs generates from README.md.gotmpl and values.yaml" \
  bash "$repo/scripts/chart-docs.sh" --check "$repo/charts/catalog"

# The chart has no default token issuer or key source (write-api requires a token, and the chart
# refuses to render without them: checked below), so "default" means the chart's values plus
# these two, the placeholders the ci/*-values.yaml files carry too.
cat > "$work/auth-values.yaml" <<'YAML'
apiDefaults:
  config:
    auth:
      issuer: https://catalog.example/issuer
  authPublicKeySecret:
    name: catalog-auth-public-key
YAML

step "helm lint --strict"
check "default values (plus the token issuer and key Secret)" helm lint --strict "$chart" -f "$work/auth-values.yaml"
for values in "$chart"/ci/*-values.yaml; do
  check "ci/$(basename "$values")" helm lint --strict "$chart" -f "$values"
done

step "helm-unittest (charts/catalog/tests)"
suites=("$chart"/tests/*_test.yaml)
check "${#suites[@]} suites" helm-unittest --strict --with-subchart=false "$chart"
grep -E '^(Test Suites|Tests):' "$work/out" | sed 's/^/     /'

step "values.schema.json rejects unknown keys and wrong types"
refute "misspelled key writeApi.replicaCont" "additional properties 'replicaCont' not allowed" \
  helm template catalog "$chart" --set writeApi.replicaCont=3
refute "misspelled app config key readApi.config.log.levle" "additional properties 'levle' not allowed" \
  helm template catalog "$chart" --set readApi.config.log.levle=debug
refute "wrong type readApi.replicaCount=three" "got string, want integer" \
  helm template catalog "$chart" --set readApi.replicaCount=three
refute "wrong type metrics.serviceMonitor.enabled=yes" "got string, want boolean" \
  helm template catalog "$chart" --set-string metrics.serviceMonitor.enabled=yes

step "authentication: rendering refuses an API that requires a token without issuer and key"
refute "bare default values name what to set and docs/auth.md" "write-api requires a bearer token .*docs/auth.md" \
  helm template catalog "$chart" --namespace catalog
refute "no key source" "has no key to verify it with: set authPublicKeySecret.name" \
  helm template catalog "$chart" --namespace catalog --set apiDefaults.config.auth.issuer=https://catalog.example/issuer
refute "two key sources" "has two token key sources" \
  helm template catalog "$chart" --namespace catalog -f "$work/auth-values.yaml" \
  --set writeApi.config.auth.jwks_url=https://sso.catalog.example/jwks
check "write-api without a token requirement renders without issuer or key" \
  helm template catalog "$chart" --namespace catalog --set writeApi.config.auth.required=false

step "render: default values and every ci/*-values.yaml (release catalog, namespace catalog)"
mkdir -p "$work/rendered"
declare -A values_of=([default]="$work/auth-values.yaml")
for values in "$chart"/ci/*-values.yaml; do values_of[$(basename "$values" -values.yaml)]=$values; done
mapfile -t names < <(printf '%s\n' "${!values_of[@]}" | sort)
# render NAME OUT [extra helm args...]: renders with NAME's values file (none for default).
render() {
  local name=$1 out=$2; shift 2
  local -a args=()
  [ -n "${values_of[$name]}" ] && args=(-f "${values_of[$name]}")
  helm template catalog "$chart" --namespace catalog "${args[@]}" "$@" > "$out"
}
for name in "${names[@]}"; do
  check "$name renders" render "$name" "$work/rendered/$name.yaml"
  # Our resources only, for checkov (the mysql chart's own suite scans its resources).
  render "$name" "$work/ours-$name.yaml" --set mysql.enabled=false
done

step "kubeconform -strict (Kubernetes 1.31.0 and 1.37.0; ServiceMonitor, PrometheusRule, HTTPRoute CRDs)"
for name in "${names[@]}"; do
  for version in 1.31.0 1.37.0; do
    check "$name against $version" kubeconform_strict "$version" "$work/rendered/$name.yaml"
  done
done
sed 's/^  revisionHistoryLimit:/  revisionHistoryLimt:/' "$work/rendered/default.yaml" > "$work/misspelt.yaml"
refute "kubeconform rejects a misspelt Deployment field" "additional properties 'revisionHistoryLimt' not allowed" \
  kubeconform_strict 1.31.0 "$work/misspelt.yaml"
sed 's/^    - port: metrics$/    - prot: metrics/' "$work/rendered/default.yaml" > "$work/misspelt-crd.yaml"
refute "kubeconform rejects a misspelt ServiceMonitor field" "additional properties 'prot' not allowed" \
  kubeconform_strict 1.31.0 "$work/misspelt-crd.yaml"

step "Pod Security \"restricted\" (k8s.io/pod-security-admission evaluating every pod template)"
# Built from tests/catalog-chart/chartcheck (pinned in its go.mod/go.sum) into the repo's cache.
chartcheck="$repo/.cache/catalog-chart/chartcheck"
check "build chartcheck" bash -c "cd '$here/chartcheck' && go build -trimpath -o '$chartcheck' ."
for name in "${names[@]}"; do
  check "$name: $(grep -c '^kind: \(Deployment\|StatefulSet\|Job\|CronJob\|Pod\)$' "$work/rendered/$name.yaml") workloads" \
    "$chartcheck" pod-security "$work/rendered/$name.yaml"
  tail -n 1 "$work/out" | sed 's/^/     /'
done
helm template catalog "$chart" --namespace catalog -f "$work/auth-values.yaml" --set securityContext.allowPrivilegeEscalation=true > "$work/escalating.yaml"
refute "the check rejects allowPrivilegeEscalation: true" "allowPrivilegeEscalation != false" \
  "$chartcheck" pod-security "$work/escalating.yaml"

step "checkov (our rendered resources; skips justified in charts/catalog/.checkov.yaml)"
mkdir -p "$work/checkov"
cp "$work"/ours-*.yaml "$work/checkov/"
checkov_clean "$repo/charts/catalog/.checkov.yaml" "$work/checkov"

step "wiring (tests/catalog-chart/check_wiring.py, with the real mysql subchart)"
for name in "${names[@]}"; do
  args=()
  [ -n "${values_of[$name]}" ] && args=("${values_of[$name]}")
  check "$name" python3 "$here/check_wiring.py" "$work/rendered/$name.yaml" "$chart" "${args[@]}"
  tail -n 1 "$work/out" | sed 's/^/     /'
done

render default "$work/miswired.yaml" --set writeApi.config.database.host=mysql-read
refute "the wiring check catches write-api pointed at the read Service" "FAIL write-api database.host" \
  python3 "$here/check_wiring.py" "$work/miswired.yaml" "$chart"

step "kube-prometheus-stack's Prometheus selects our monitors and rules and its own (prometheus_selection.py)"
check "selectors rendered from values.yaml" \
  python3 "$here/prometheus_selection.py" "$work/rendered/default.yaml" "$repo/charts/catalog/values.yaml"
tail -n 1 "$work/out" | sed 's/^/     /'
cat > "$work/select-by-label.yaml" <<'YAML'
kube-prometheus-stack:
  prometheus:
    prometheusSpec:
      serviceMonitorSelector: {matchLabels: {prometheus: catalog}}
      ruleSelector: {matchLabels: {prometheus: catalog}}
YAML
refute "the check catches selecting by prometheus=catalog alone (kubelet, kube-state-metrics unscraped)" \
  "FAIL the stack's own: a ServiceMonitor" \
  python3 "$here/prometheus_selection.py" "$work/rendered/default.yaml" "$repo/charts/catalog/values.yaml" "$work/select-by-label.yaml"
cat > "$work/select-by-release.yaml" <<'YAML'
kube-prometheus-stack:
  prometheus:
    prometheusSpec:
      serviceMonitorSelectorNilUsesHelmValues: true
YAML
refute "the check catches the stack's default selector (release label only: ours unscraped)" \
  "FAIL ours: ServiceMonitor" \
  python3 "$here/prometheus_selection.py" "$work/rendered/default.yaml" "$repo/charts/catalog/values.yaml" "$work/select-by-release.yaml"
check "the test cluster's Prometheus resource has the selectors the stack renders (tests/cluster/prometheus_cr_test.py)" \
  python3 "$repo/tests/cluster/prometheus_cr_test.py"
tail -n 1 "$work/out" | sed 's/^/     /'

step "alert rules: promtool check rules + test rules"
python3 "$here/rule_file.py" "$work/rendered/default.yaml" catalog-slo "$work/rules.yaml"
check "promtool check rules (catalog-slo)" promtool check rules "$work/rules.yaml"
cp "$here/rules-test.yaml" "$work/rules-test.yaml"
check "promtool test rules (tests/catalog-chart/rules-test.yaml)" promtool test rules "$work/rules-test.yaml"

step "dashboards: queries parse, and name only metrics really exported"
dashboards=("$repo"/charts/catalog/dashboards/*.json)
python3 "$here/promql_exprs.py" rules "${dashboards[@]}" > "$work/dashboard-rules.yaml"
check "promtool check rules ($(grep -c 'record:' "$work/dashboard-rules.yaml") dashboard queries as recording rules)" \
  promtool check rules "$work/dashboard-rules.yaml"
python3 "$here/promql_exprs.py" exprs "$work/rules.yaml" "${dashboards[@]}" > "$work/exprs.txt"
check "Prometheus parser: metric names of $(wc -l < "$work/exprs.txt") dashboard and rule queries" \
  bash -c "'$chartcheck' promql-metrics < '$work/exprs.txt' > '$work/used-metrics.txt'"

check "build write-api and read-api" cargo build --quiet --bins -p write-api -p read-api --manifest-path "$repo/Cargo.toml"
target=$(cargo metadata --format-version 1 --no-deps --manifest-path "$repo/Cargo.toml" | jq -r .target_directory)
# The config file each variant mounts must be one the binaries accept (they refuse unknown keys).
# check-config also reads the token public key of an API that requires a token
# (auth.public_key_file, where the chart mounts authPublicKeySecret in the pod). That path does not
# exist here, so each config's copy points at a real EC P-256 public key instead: what is checked
# is that the rendered auth settings are complete and consistent, with a key the app can parse.
mkdir -p "$work/app-config" "$work/auth-key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/auth-key/private.pem" 2> /dev/null
openssl pkey -in "$work/auth-key/private.pem" -pubout -out "$work/auth-key/public.pem"
for name in "${names[@]}"; do
  while read -r binary file; do
    sed -i "s|^\(  public_key_file: \)/var/run/secrets/catalog/auth/.*|\1$work/auth-key/public.pem|" "$file"
    check "$name: the real $binary accepts the rendered $(basename "$file")" \
      env -i CATALOG__DATABASE__PASSWORD=unused "$target/debug/$binary" check-config --config "$file"
  done < <(python3 "$here/app_configs.py" "$work/rendered/$name.yaml" "$work/app-config")
done
mkdir -p "$work/as-rendered"
python3 "$here/app_configs.py" "$work/rendered/default.yaml" "$work/as-rendered" > /dev/null
refute "check-config reads the key at the rendered auth.public_key_file (absent here)" \
  "auth.public_key_file: cannot read /var/run/secrets/catalog/auth/public.pem" \
  env -i CATALOG__DATABASE__PASSWORD=unused "$target/debug/write-api" check-config --config "$work/as-rendered/catalog-write-api.yaml"
printf 'databse:\n  host: x\n' > "$work/app-config/misspelt.yaml"
refute "check-config refuses a misspelt key" "databse" \
  env -i CATALOG__DATABASE__PASSWORD=unused "$target/debug/write-api" check-config --config "$work/app-config/misspelt.yaml"
check "real /metrics: mysqld-exporter on MariaDB primary + replica, write-api and read-api after the round trip" \
  bash "$here/real-metrics.sh" "$work/metrics" "$target/debug"
grep '^\[real-metrics\]' "$work/out" | sed 's/^/     /'
[ -f "$work/metrics/roundtrip.log" ] && sed 's/^/     round trip: /' "$work/metrics/roundtrip.log"

# Names: every metric a query selects is in the scrapes, or allow-listed (kube-state-metrics, cAdvisor).
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/metrics-allowlist.txt" | sort -u > "$work/allowlist.txt"
sort -u "$work/metrics/exporter-metrics.txt" "$work/metrics/app-metrics.txt" "$work/allowlist.txt" > "$work/known.txt"
unknown=$(comm -23 <(sort -u "$work/used-metrics.txt") "$work/known.txt")
if [ -s "$work/used-metrics.txt" ] && [ -s "$work/metrics/app-metrics.txt" ] && [ -z "$unknown" ]; then
  ok "all $(wc -l < "$work/used-metrics.txt") metric names used are exported ($(comm -12 <(sort -u "$work/used-metrics.txt") "$work/allowlist.txt" | wc -l) of them from the kube-state-metrics/cAdvisor allow-list)"
else
  not_ok "metric names no component exports: $(echo "$unknown" | tr '\n' ' ')"
fi
# Labels: every label a query matches or groups on is on that metric in the scrapes. Target labels
# come from Prometheus (ServiceMonitor relabelling), not from the exporters; allow-listed metrics
# cannot be scraped here.
"$chartcheck" promql-metrics --labels < "$work/exprs.txt" \
  | grep -Ev ' (job|namespace|pod|container|instance|service|endpoint)$' \
  | grep -vFf <(sed 's/$/ /' "$work/allowlist.txt") | sort -u > "$work/used-labels.txt" || true
unknown=$(comm -23 "$work/used-labels.txt" <(sort -u "$work/metrics/exporter-labels.txt" "$work/metrics/app-labels.txt"))
if [ -s "$work/used-labels.txt" ] && [ -z "$unknown" ]; then
  ok "all $(wc -l < "$work/used-labels.txt") metric/label pairs the queries rely on are exported"
else
  not_ok "labels missing on metrics: $(echo "$unknown" | tr '\n' ';')"
fi

finish "catalog chart"
