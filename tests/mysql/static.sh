#!/usr/bin/env bash
# Static checks of charts/mysql: shellcheck of its scripts, helm lint --strict, values schema,
# helm-unittest, kubeconform (strict, Kubernetes 1.31 and the newest offline schema, CRDs
# included), checkov, and the alert rules with promtool.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chart="$repo/charts/mysql"
schemas="$repo/.cache/kubernetes-json-schema"
work=$(mktemp -d "${TMPDIR:-/tmp}/mysql-chart-static.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

step() { printf '\n--- %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@" > "$work/out" 2>&1; then ok "$what"; else not_ok "$what"; tail -n 30 "$work/out" | sed 's/^/     /'; fi; }
refute() { local what=$1; shift; if "$@" > "$work/out" 2>&1; then not_ok "$what (unexpectedly succeeded)"; else ok "$what"; fi; }

for tool in helm helm-unittest kubeconform checkov promtool shellcheck; do
  command -v "$tool" > /dev/null || { echo "missing tool: $tool (run scripts/install-tools.sh)" >&2; exit 1; }
done
for version in 1.31.0 1.37.0; do
  [ -d "$schemas/v$version-strict" ] || { echo "missing schemas for $version (run scripts/install-tools.sh)" >&2; exit 1; }
done

step "shellcheck"
# From each script's own directory, where its "shellcheck source=" directives point.
shellcheck_dir() { (cd "$1" && shellcheck -x ./*.sh "${@:2}"); }
check "chart scripts (files/*.sh)" shellcheck_dir "$chart/files"
check "test scripts" shellcheck_dir "$repo/tests/mysql" ../suites/30-mysql-chart.sh

step "helm lint --strict"
check "default values" helm lint --strict "$chart"
for values in "$chart"/ci/*-values.yaml; do
  check "$(basename "$values")" helm lint --strict "$chart" -f "$values"
done

step "values.schema.json rejects unknown keys and wrong types"
refute "unknown top-level key" helm template t "$chart" --set replicas=3
refute "unknown nested key" helm template t "$chart" --set metrics.serviceMonitor.scrapeTimeout=5s
refute "wrong type (readReplicas as string)" helm template t "$chart" --set-string readReplicas=two
refute "wrong type (networkPolicy.enabled)" helm template t "$chart" --set-string networkPolicy.enabled=yes
refute "bad digest" helm template t "$chart" --set image.digest=latest
check "accepts the umbrella's dependency condition key (enabled)" helm template t "$chart" --set enabled=true

check "every key of values.yaml has a row in README.md's values table" \
  python3 "$repo/tests/mysql/values_documented.py" "$chart/values.yaml" "$chart/README.md"

step "helm-unittest"
untested=$(for template in "$chart"/templates/*.yaml; do
  name=$(basename "$template" .yaml); [ -f "$chart/tests/${name}_test.yaml" ] || echo "$name"; done)
check "every template has its suite (tests/<template>_test.yaml)${untested:+; missing: $untested}" test -z "$untested"
check "charts/mysql/tests" helm-unittest "$chart"

step "kubeconform -strict (Kubernetes 1.31.0 and 1.37.0, ServiceMonitor/PrometheusRule CRDs)"
kubeconform_strict() {
  kubeconform -strict -summary -kubernetes-version "$1" \
    -schema-location "$schemas/{{ .NormalizedKubernetesVersion }}-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$schemas/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" "$2"
}
mkdir -p "$work/rendered"
helm template mysql "$chart" --namespace catalog > "$work/rendered/default.yaml"
for values in "$chart"/ci/*-values.yaml; do
  helm template mysql "$chart" --namespace catalog -f "$values" > "$work/rendered/$(basename "$values" -values.yaml).yaml"
done
for rendered in "$work"/rendered/*.yaml; do
  for version in 1.31.0 1.37.0; do
    check "$(basename "$rendered" .yaml) against $version" kubeconform_strict "$version" "$rendered"
  done
done
# Negative control: a misspelt field must be reported, or the validation above proves nothing.
sed 's/^  podManagementPolicy:/  podManagmentPolicy:/' "$work/rendered/default.yaml" > "$work/misspelt.yaml"
refute "kubeconform rejects a misspelt StatefulSet field" kubeconform_strict 1.31.0 "$work/misspelt.yaml"

step "Pod Security \"restricted\" (every pod template of every rendering)"
check "restricted profile and read-only root filesystem" python3 "$repo/tests/mysql/pod_security.py" "$work"/rendered/*.yaml
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: [{name: c, image: x}]\n' > "$work/bad-pod.yaml"
refute "the check rejects a pod without a securityContext" python3 "$repo/tests/mysql/pod_security.py" "$work/bad-pod.yaml"

step "checkov (rendered manifests; skips justified in charts/mysql/.checkov.yaml)"
# BC_SKIP_MAPPING and --skip-download keep checkov off the network.
if BC_SKIP_MAPPING=TRUE checkov --config-file "$chart/.checkov.yaml" --skip-download --quiet --compact \
  -d "$work/rendered" > "$work/checkov.out" 2>&1; then
  ok "checkov: $(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$work/checkov.out")"
else
  not_ok "checkov findings"; sed 's/^/     /' "$work/checkov.out" | tail -n 40
fi

step "alert rules (promtool)"
helm template mysql "$chart" --namespace catalog --set fullnameOverride=mysql --set backup.enabled=true \
  > "$work/rules-render.yaml"
python3 "$repo/scripts/lib/mysql_extract.py" "$work/rules-render.yaml" mysql "$work/rules"
cp "$repo/tests/mysql/alerts.test.yaml" "$work/rules/"
check "promtool check rules" promtool check rules "$work/rules/rules.yaml"
check "promtool test rules (every alert fires and resolves)" promtool test rules "$work/rules/alerts.test.yaml"
alerts_defined=$(grep -c '^  - alert:' "$work/rules/rules.yaml")
alerts_tested=$(grep -o 'alertname: [A-Za-z]*' "$work/rules/alerts.test.yaml" | sort -u | wc -l)
check "every alert has a unit test ($alerts_defined defined, $alerts_tested tested)" test "$alerts_defined" -eq "$alerts_tested"

echo
echo "mysql chart static: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
