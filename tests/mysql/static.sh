#!/usr/bin/env bash
# Static checks of charts/mysql: shellcheck of its scripts, helm lint --strict, values schema,
# helm-unittest, kubeconform (strict, Kubernetes 1.31 and the newest offline schema, CRDs
# included), checkov, and the alert rules with promtool.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chart="$repo/charts/mysql"
work=$(mktemp -d "${TMPDIR:-/tmp}/mysql-chart-static.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=../lib.sh
. "$repo/tests/lib.sh"

require_tools helm helm-unittest kubeconform checkov promtool shellcheck

step "shellcheck"
# From each script's own directory, where its "shellcheck source=" directives point.
shellcheck_dir() { (cd "$1" && shellcheck -x ./*.sh "${@:2}"); }
check "chart scripts (files/*.sh)" shellcheck_dir "$chart/files"
check "test scripts" shellcheck_dir "$repo/tests/mysql" ../suites/30-mysql-chart.sh
# From the repository root, where their "shellcheck source=" directives point.
shellcheck_repo() { (cd "$repo" && shellcheck -x "$@"); }
check "test plumbing, the shared libraries and scripts/*.sh (install-tools, the MariaDB root filesystem)" shellcheck_repo tests/lib.sh "$repo"/scripts/lib/*.sh "$repo"/scripts/*.sh

step "helm lint --strict"
check "default values" helm lint --strict "$chart"
for values in "$chart"/ci/*-values.yaml; do
  check "$(basename "$values")" helm lint --strict "$chart" -f "$values"
done

step "values.schema.json rejects unknown keys and wrong types"
refute "unknown top-level key" "additional properties 'replicas' not allowed" helm template t "$chart" --set replicas=3
refute "unknown nested key" "additional properties 'scrapeTimeout' not allowed" helm template t "$chart" --set metrics.serviceMonitor.scrapeTimeout=5s
refute "wrong type (readReplicas as string)" "/readReplicas': got string, want integer" helm template t "$chart" --set-string readReplicas=two
refute "wrong type (networkPolicy.enabled)" "/networkPolicy/enabled': got string, want boolean" helm template t "$chart" --set-string networkPolicy.enabled=yes
refute "bad digest" "'latest' does not match pattern" helm template t "$chart" --set image.digest=latest
check "accepts the umbrella's dependency condition key (enabled)" helm template t "$chart" --set enabled=true

check "every key of values.yaml has a row in README.md's values table" \
  python3 "$repo/tests/mysql/values_documented.py" "$chart/values.yaml" "$chart/README.md"

step "helm-unittest"
untested=$(for template in "$chart"/templates/*.yaml; do
  name=$(basename "$template" .yaml); [ -f "$chart/tests/${name}_test.yaml" ] || echo "$name"; done)
check "every template has its suite (tests/<template>_test.yaml)${untested:+; missing: $untested}" test -z "$untested"
check "charts/mysql/tests" helm-unittest "$chart"

step "kubeconform -strict (Kubernetes 1.31.0 and 1.37.0, ServiceMonitor/PrometheusRule CRDs)"
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
refute "kubeconform rejects a misspelt StatefulSet field" "additional properties 'podManagmentPolicy' not allowed" kubeconform_strict 1.31.0 "$work/misspelt.yaml"

step "Pod Security \"restricted\" (every pod template of every rendering)"
check "restricted profile and read-only root filesystem" python3 "$repo/tests/mysql/pod_security.py" "$work"/rendered/*.yaml
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: [{name: c, image: x}]\n' > "$work/bad-pod.yaml"
refute "the check rejects a pod without a securityContext" "Pod/bad/c: capabilities do not drop ALL" python3 "$repo/tests/mysql/pod_security.py" "$work/bad-pod.yaml"

step "checkov (rendered manifests; skips justified in charts/mysql/.checkov.yaml)"
checkov_clean "$chart/.checkov.yaml" "$work/rendered"

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

finish "mysql chart static"
