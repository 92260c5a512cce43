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
  "$root/loadtest/scenarios/hpa.js" > "$results/k6.log" 2>&1 &
k6_pid=$!
trap 'kill "$k6_pid" 2>/dev/null || true' EXIT

verdict=0
python3 - "$state" "$k6_pid" "${SAMPLE_SECONDS:-5}" <<'PY' || verdict=$?
import json, math, os, sys, time

state, k6_pid, period = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
hpa = json.load(open(f"{state}/rendered/hpa.json"))
ticks = os.sysconf("SC_CLK_TCK")
TOLERANCE = 0.1  # the HPA controller's default --horizontal-pod-autoscaler-tolerance

def cpu_seconds(api):
    pid = open(f"{state}/run/{api}.pid").read().strip()
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

def desired(api, cores):
    spec = hpa[api]
    utilisation = cores / spec["cpu_request_cores"]
    ratio = utilisation / (spec["target_utilization_percent"] / 100)
    current = spec["min_replicas"]
    wanted = current if abs(ratio - 1) <= TOLERANCE else math.ceil(current * ratio)
    return utilisation, min(max(wanted, spec["min_replicas"]), spec["max_replicas"])

for api, spec in sorted(hpa.items()):
    print(f"{api}: request {spec['cpu_request_cores'] * 1000:.0f}m CPU, target {spec['target_utilization_percent']}% "
          f"(= {spec['cpu_request_cores'] * spec['target_utilization_percent'] * 10:.0f}m per pod), "
          f"replicas {spec['min_replicas']}..{spec['max_replicas']}")
print(f"{'time':>6}  " + "  ".join(f"{api + ' CPU':>16} {'util':>6} {'replicas':>8}" for api in sorted(hpa)))
peak = {api: 0 for api in hpa}
start = time.time()
before = {api: cpu_seconds(api) for api in hpa}
while True:
    time.sleep(period)
    now = {api: cpu_seconds(api) for api in hpa}
    row = []
    for api in sorted(hpa):
        cores = (now[api] - before[api]) / period
        utilisation, replicas = desired(api, cores)
        peak[api] = max(peak[api], replicas)
        row.append(f"{cores * 1000:>14.0f}m {utilisation * 100:>5.0f}% {replicas:>8}")
    before = now
    print(f"{time.time() - start:>5.0f}s  " + "  ".join(row), flush=True)
    try:
        os.kill(k6_pid, 0)
        done = open(f"/proc/{k6_pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except (ProcessLookupError, FileNotFoundError):
        done = True
    if done:
        break
failed = False
for api in sorted(hpa):
    scales = peak[api] > hpa[api]["min_replicas"]
    failed |= not scales
    print(f"{api}: the HPA would ask for up to {peak[api]} replicas (minReplicas {hpa[api]['min_replicas']}): "
          + ("scale-out" if scales else "NO scale-out"))
sys.exit(1 if failed else 0)
PY
status=0
wait "$k6_pid" || status=$?
trap - EXIT
tail -n 12 "$results/k6.log"
echo "k6 exit status: $status (summary: $results/hpa-summary.json)"
[ "$verdict" -eq 0 ] && [ "$status" -eq 0 ]
