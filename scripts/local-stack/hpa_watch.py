#!/usr/bin/env python3
"""Samples the APIs' CPU while k6 runs and prints the replicas the rendered HPAs would ask for;
fails when an API would not scale out.

usage: hpa_watch.py STACK_DIR K6_PID SAMPLE_SECONDS
"""
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
