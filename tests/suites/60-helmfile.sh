#!/usr/bin/env bash
# helmfile.yaml + values/: real helmfile lints and renders every environment offline, then
# tests/helmfile/assert_environments.py checks the per-environment differences on the output.
#
# Offline mode (nothing in the repository changes; users run helmfile on the committed files):
# the suite works on a copy of helmfile.yaml and values/ next to the offline copy of the charts
# that scripts/lib/offline-chart.sh prepares (mysql unpacked as `helm dependency build`
# would, empty placeholders for the remote subcharts, whose repositories are unreachable here),
# and runs helmfile with --skip-deps. The remote release csi-driver-nfs is not templated
# (--selector chart-source=repository); what helmfile hands it and kube-prometheus-stack is
# checked through `helmfile write-values`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=tests/lib.sh
. tests/lib.sh
require_tools helmfile helm kubeconform tofu python3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Helm's repository and cache state stays inside the test.
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

step "helmfile.yaml is plain YAML: environments, then ---, then releases with safe defaults"
python3 tests/helmfile/check_plain_yaml.py helmfile.yaml

copy="$work/repo"
mkdir -p "$copy"
cp -R helmfile.yaml values "$copy/"
bash scripts/lib/offline-chart.sh "$copy/charts"

out="$work/out"
mkdir -p "$out/values" "$out/local-from-tofu/values"
offline=(--file "$copy/helmfile.yaml")
for env in local staging production ci; do
  step "helmfile -e $env list / build / lint / template / write-values"
  helmfile "${offline[@]}" -e "$env" list --output json >"$out/$env-list.json"
  helmfile "${offline[@]}" -e "$env" build >"$out/$env-build.yaml"
  helmfile "${offline[@]}" -e "$env" --selector chart-source=repository lint --skip-deps
  helmfile "${offline[@]}" -e "$env" --selector chart-source=repository template --skip-deps >"$out/$env.yaml"
  helmfile "${offline[@]}" -e "$env" write-values --skip-deps \
    --output-file-template "$out/values/{{ .Environment.Name }}-{{ .Release.Name }}.yaml" >/dev/null
done

step "helmfile -e local template --state-values-set imageTag=0.1.0-abc1234"
helmfile "${offline[@]}" -e local --selector chart-source=repository template --skip-deps \
  --state-values-set imageTag=0.1.0-abc1234 >"$out/local-image-tag.yaml"

step "helmfile -e ci template --state-values-set mariadbImageTag=...,exporterImageTag=...,curlImageTag=..."
helmfile "${offline[@]}" -e ci --selector chart-source=repository template --skip-deps \
  --state-values-set mariadbImageTag=11.8.99-test,exporterImageTag=v0.17.99-test,curlImageTag=7.88.99-test >"$out/ci-tags.yaml"

for env in local staging production ci; do
  step "kubeconform -strict: $env as rendered by helmfile (Kubernetes 1.31.0, monitoring CRDs)"
  kubeconform_strict 1.31.0 "$out/$env.yaml"
done

step "tofu output hand-over: .state/infra/local.yaml replaces the local defaults"
mkdir -p "$copy/.state/infra"
cat >"$copy/.state/infra/local.yaml" <<'YAML'
infra:
  grafanaIP: 172.19.255.11
  nfs:
    server: nfs.from-tofu.test
    share: /
YAML
helmfile "${offline[@]}" -e local write-values --skip-deps \
  --output-file-template "$out/local-from-tofu/values/{{ .Environment.Name }}-{{ .Release.Name }}.yaml" >/dev/null

step "per-environment assertions"
python3 tests/helmfile/assert_environments.py "$out" "$copy/charts/catalog/values.yaml"

step "runbooks: the helmfile, tofu and helm commands they show"
python3 tests/helmfile/check_runbooks.py "$copy/helmfile.yaml" \
  docs/quickstart-cluster.md docs/rollback.md docs/load-test-hpa.md docs/grafana.md infra/README.md values/README.md

step "runbook check catches a wrong environment, output, variable and flag"
cat >"$work/bad-runbook.md" <<'MD'
```sh
helmfile -e qa apply
tofu -chdir=infra/envs/local output -raw no_such_output
tofu -chdir=infra/envs/local apply -var no_such_variable=1
helm -n catalog rollback catalog 1 --no-such-flag
```
MD
if python3 tests/helmfile/check_runbooks.py "$copy/helmfile.yaml" "$work/bad-runbook.md" >"$work/bad-runbook.out" 2>&1; then
  cat "$work/bad-runbook.out"
  echo "the runbook check accepted wrong commands" >&2
  exit 1
fi
grep -c '^FAIL' "$work/bad-runbook.out" | grep -qx 4 || { cat "$work/bad-runbook.out"; echo "expected 4 rejected commands" >&2; exit 1; }
echo "4 wrong commands rejected"
