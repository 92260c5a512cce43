# The test suites' shared plumbing (sourced). A suite sets `work` (a scratch directory) before
# calling check, check_eq or refute, and ends with `finish <name>`; each check prints one ok/FAIL
# line, and on failure the tail of what the command printed.
# shellcheck shell=bash
# shellcheck disable=SC2154 # `work` is set by the suite that sources this file

lib_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$lib_repo/scripts/lib/common.sh"

passed=0
failed=0
checks_start=$SECONDS
step() { printf '\n--- [%4ss] %s\n' $((SECONDS - checks_start)) "$*"; }
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

# The MariaDB release the mysql chart deploys (Chart.yaml appVersion, e.g. 11.8.9) and its
# mysqld-exporter tag without the v (e.g. 0.17.2): the series every test must run.
chart_mariadb_version() { sed -n 's/^appVersion: *"\(.*\)"/\1/p' "$lib_repo/charts/mysql/Chart.yaml"; }
chart_exporter_version() {
  sed -n '/^metrics:/,/^[a-z]/ s/^    tag: *v\{0,1\}\([0-9.]*\).*/\1/p' "$lib_repo/charts/mysql/values.yaml"
}
# same_series VERSION RELEASE: VERSION (e.g. 11.8.9-MariaDB-0+deb13u1) is of RELEASE's major.minor.
same_series() { [ "${1#"${2%.*}".}" != "$1" ]; }

# require_tools tool...: exits when one is missing (scripts/install-tools.sh installs them all).
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" > /dev/null || { echo "missing tool: $tool (run scripts/install-tools.sh)" >&2; exit 1; }
  done
}

# check "description" command...: passes when the command succeeds. Its output lands in
# $work/out once it has finished, for follow-up checks on the message.
check() {
  local what=$1; shift
  if "$@" > "$work/running.out" 2>&1; then ok "$what"; else not_ok "$what"; tail -n 40 "$work/running.out" | sed 's/^/     /'; fi
  mv "$work/running.out" "$work/out"
}

# check_eq "description" want command...: passes when the command prints exactly want.
check_eq() {
  local what=$1 want=$2 got; shift 2
  got=$("$@" 2>&1) || true
  if [ "$got" = "$want" ]; then ok "$what"; else not_ok "$what: want '$want', got '$got'"; fi
}

# refute "description" reason command...: passes when the command fails and its output matches
# the extended regular expression reason (a negative check must fail for the reason it names).
# Its output lands in $work/out, as check's.
refute() {
  local what=$1 reason=$2; shift 2
  [ -n "$reason" ] || { not_ok "$what (refute without a reason)"; return; }
  if "$@" > "$work/running.out" 2>&1; then
    not_ok "$what (unexpectedly succeeded)"; tail -n 10 "$work/running.out" | sed 's/^/     /'
  elif grep -Eq -- "$reason" "$work/running.out"; then
    ok "$what"
  else
    not_ok "$what (failed without '$reason')"; tail -n 10 "$work/running.out" | sed 's/^/     /'
  fi
  mv "$work/running.out" "$work/out"
}

# finish NAME: the summary line; fails when a check failed.
finish() {
  echo
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# kubeconform_strict VERSION FILE: strict validation against the offline schemas of that
# Kubernetes version and the CRDs (scripts/install-tools.sh puts both in .cache/).
kubeconform_strict() {
  local schemas="$lib_repo/.cache/kubernetes-json-schema"
  [ -d "$schemas/v$1-strict" ] || { echo "missing schemas for $1 (run scripts/install-tools.sh)" >&2; return 1; }
  kubeconform -strict -summary -kubernetes-version "$1" \
    -schema-location "$schemas/{{ .NormalizedKubernetesVersion }}-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$schemas/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" "$2"
}

# checkov_clean CONFIG DIR: checkov on the manifests in DIR has no finding (skips are justified
# in CONFIG); prints checkov's counts, or its findings.
checkov_clean() {
  # BC_SKIP_MAPPING and --skip-download keep checkov off the network.
  if BC_SKIP_MAPPING=TRUE checkov --config-file "$1" --skip-download --quiet --compact -d "$2" > "$work/checkov.out" 2>&1; then
    ok "checkov: $(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$work/checkov.out")"
  else
    not_ok "checkov findings"; tail -n 40 "$work/checkov.out" | sed 's/^/     /'
  fi
}
