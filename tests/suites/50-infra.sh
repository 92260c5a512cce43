#!/usr/bin/env bash
# infra/ (OpenTofu): fmt, validate and offline `tofu test` (mock providers) for every module and
# environment root, the committed lock files against the locally built providers, the module
# READMEs against terraform-docs, and checkov.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=tests/lib.sh
. tests/lib.sh
require_tools tofu terraform-docs checkov

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/infra/tofu-env.sh
. tests/infra/tofu-env.sh

step "tofu fmt -check -recursive infra"
tofu fmt -check -recursive -diff infra

step "terraform-docs --output-check: each module README's generated section is up to date"
terraform-docs -c infra/.terraform-docs.yml --output-check infra

# Work on a copy: the committed lock files carry the registry's hashes of the official provider
# builds, which the locally built mirror binaries cannot match (see infra/README.md).
cp -R infra "$work/infra"
find "$work/infra" -name .terraform.lock.hcl -delete

roots=(infra/modules/kind-cluster infra/modules/chart-release infra/modules/platform infra/envs/local infra/envs/existing-cluster)
for dir in "${roots[@]}"; do
  copy="$work/$dir"
  step "$dir: tofu init, validate, test"
  tofu -chdir="$copy" init -backend=false -input=false -no-color >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }
  tofu -chdir="$copy" validate -no-color
  tofu -chdir="$copy" test -no-color
done

# Every environment root commits its lock file, and it pins exactly the provider versions that
# `tofu init` resolved from the mirror (built from scripts/tools/tofu-providers.txt).
pins() { sed -n -e 's/^provider "\(.*\)" {$/\1/p' -e 's/^  version *= "\(.*\)"$/\1/p' "$1" | paste -d' ' - -; }
for dir in infra/envs/*/; do
  dir=${dir%/}
  step "$dir: committed .terraform.lock.hcl pins the tested provider versions"
  [ -f "$dir/.terraform.lock.hcl" ] || { echo "$dir/.terraform.lock.hcl is not committed" >&2; exit 1; }
  committed=$(pins "$dir/.terraform.lock.hcl")
  tested=$(pins "$work/$dir/.terraform.lock.hcl")
  [ -n "$committed" ] || { echo "no provider pins found in $dir/.terraform.lock.hcl" >&2; exit 1; }
  if [ "$committed" != "$tested" ]; then
    printf 'committed:\n%s\ntested:\n%s\n' "$committed" "$tested" >&2
    exit 1
  fi
  grep -c '"zh:' "$dir/.terraform.lock.hcl" | grep -qv '^0$' || { echo "$dir lock file has no registry (zh:) hashes" >&2; exit 1; }
  echo "$committed"
done

step "checkov -d infra (zero findings; every skip carries its reason)"
# BC_SKIP_MAPPING keeps checkov from fetching its guideline mapping over the network.
BC_SKIP_MAPPING=TRUE checkov --config-file infra/.checkov.yaml -d infra --output cli --output json --output-file-path "$work/checkov" >/dev/null
python3 tests/checkov_report.py "$work/checkov/results_json.json"
