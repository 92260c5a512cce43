#!/usr/bin/env bash
# HPA dry run on the local stack (make up first): runs k6's hpa scenario against the proxy while
# sampling each API process's CPU from /proc, and computes the replica count the chart's
# HorizontalPodAutoscaler (environment `local`: the rendered HPA and Deployment objects) would ask
# for, with the HPA algorithm:
#
#   utilisation = CPU used / CPU request            (the pod's average; here one process = one pod)
#   desired     = ceil(current × utilisation / target), unchanged within the 10 % tolerance,
#                 clamped to [minReplicas, maxReplicas]
#
# With one process per API, current = 1 and the CPU of that one process is what the first pod would
# report before any scale-out. Prints one line per sample and the peak; exits non-zero unless
# every API's peak exceeds minReplicas (the scenario really triggers scale-out) and k6's
# thresholds pass.
#
#   scripts/local-stack/hpa-dry-run.sh           environment: STACK_DIR, and k6 -e knobs of
#                                                loadtest/scenarios/hpa.js: PEAK_RATE, RAMP, HOLD,
#                                                RAMP_DOWN, SEED_ITEMS, WRITE_SHARE
#   SAMPLE_SECONDS (default 5)                   the sampling period (metrics-server's is 15 s)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$root/bin:$root/.venv/bin:$PATH"
state=${STACK_DIR:-$root/.state/local-stack}
[ -f "$state/stack.env" ] || { echo "no local stack in $state: run make up first" >&2; exit 1; }
# shellcheck source=/dev/null
. "$state/stack.env"
results="$state/hpa-dry-run"
mkdir -p "$results"

k6_args=()
for knob in PEAK_RATE RAMP HOLD RAMP_DOWN SEED_ITEMS WRITE_SHARE; do
  [ -z "${!knob:-}" ] || k6_args+=(-e "$knob=${!knob}")
done

k6 run --quiet -e "BASE_URL=$BASE_URL" -e "SUMMARY_DIR=$results" "${k6_args[@]}" \
  -e "AUTH_KEY_FILE=$AUTH_KEY_FILE" -e "AUTH_ISSUER=$AUTH_ISSUER" -e "AUTH_AUDIENCE=$AUTH_AUDIENCE" \
  "$root/loadtest/scenarios/hpa.js" > "$results/k6.log" 2>&1 &
k6_pid=$!
trap 'kill "$k6_pid" 2>/dev/null || true' EXIT

verdict=0
python3 "$root/scripts/local-stack/hpa_watch.py" "$state" "$k6_pid" "${SAMPLE_SECONDS:-5}" || verdict=$?
status=0
wait "$k6_pid" || status=$?
trap - EXIT
tail -n 12 "$results/k6.log"
echo "k6 exit status: $status (summary: $results/hpa-summary.json)"
[ "$verdict" -eq 0 ] && [ "$status" -eq 0 ]
