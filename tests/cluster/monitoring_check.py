#!/usr/bin/env python3
"""Proves the test cluster's Prometheus (scripts/cluster/monitoring.sh) monitors the product.

    monitoring_check.py PROMETHEUS_URL [--namespace catalog] [--timeout 300]

(kubectl on PATH, KUBECONFIG set; PROMETHEUS_URL: `scripts/cluster/monitoring.sh url`.)

1. Targets: for every Service a ServiceMonitor of the namespace selects, Prometheus has a target
   up, with the labels the ServiceMonitor gives (namespace, job = the Service's name: the two
   APIs' and mysql-headless), for each pod behind the Service's ready endpoints; every MariaDB pod
   (mysqld-exporter) among them; and the kubelet (job kubelet, metrics_path /metrics and
   /metrics/cadvisor). Pods come and go (rollouts, the HPA): this waits until all of them are up
   at once, at most --timeout seconds.
2. Traffic: per read-api pod one read with a consistency token that finds no item (404), per
   write-api pod one delete of an item that does not exist (4xx), sent to the pods' addresses;
   then it waits for two scrapes of those series, which the dashboards chart and a quiet cluster
   may lack. Nothing is written.
3. Rules: every group of every PrometheusRule in the cluster is loaded by Prometheus (the
   ruleSelector and ruleNamespaceSelector select them), from the operator's file for that
   PrometheusRule, with the same rules (name, expression as Prometheus formats it, `for`, labels),
   each evaluated without error.
4. Expressions: tests/e2e/promql_live.py evaluates every rule and dashboard panel expression
   against this Prometheus ($__rate_interval = 2m: four 30s scrapes, as Grafana computes it), with
   tests/cluster/expected-empty.txt naming those that are empty here and why.
Prints one line per check; exits 1 on any failure.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, str(REPO / "tests" / "catalog-chart"))
import prometheus_selection  # noqa: E402

MISSING_ITEM = "01890000-0000-7000-8000-000000000000"  # a UUIDv7 no item has
APPLIED_TOKEN = "0-1-1"  # a GTID every server of the cluster has applied (the migrations come after it)
# Grafana's $__rate_interval for the ServiceMonitors' 30s scrape interval: four intervals.
RATE_INTERVAL = "2m"
failures = 0


def report(ok, message):
    global failures
    failures += 0 if ok else 1
    print(("ok   " if ok else "FAIL ") + message, flush=True)


def api(base, path, **params):
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.load(response)
    if body["status"] != "success":
        raise RuntimeError(f"{path}: {body}")
    return body["data"]


def kubectl_json(*args):
    return json.loads(subprocess.run(["kubectl", *args, "-o", "json"], check=True, capture_output=True,
                                     text=True).stdout)


def servicemonitor_jobs(namespace):
    """{(namespace, job): pods} for each Service a ServiceMonitor of the namespace selects (in that
    namespace, with the endpoint's port): the job label it gives (jobLabel, else the Service's
    name) and the pods behind the Service's ready endpoints."""
    monitors = kubectl_json("-n", namespace, "get", "servicemonitors")["items"]
    services = kubectl_json("-n", namespace, "get", "services")["items"]
    slices = kubectl_json("-n", namespace, "get", "endpointslices")["items"]
    jobs = {}
    for monitor in monitors:
        spec = monitor["spec"]
        ports = {e.get("port") for e in spec.get("endpoints", [])}
        for service in services:
            labels = service["metadata"].get("labels") or {}
            if not prometheus_selection.matches(spec.get("selector") or {}, labels):
                continue
            if not ports & {p.get("name") for p in service["spec"].get("ports", [])}:
                continue
            job = labels.get(spec["jobLabel"]) if spec.get("jobLabel") else service["metadata"]["name"]
            pods = {e["targetRef"]["name"] for s in slices
                    if s["metadata"].get("labels", {}).get("kubernetes.io/service-name") == service["metadata"]["name"]
                    for e in s.get("endpoints") or []
                    if e.get("targetRef", {}).get("kind") == "Pod" and (e.get("conditions") or {}).get("ready")}
            jobs[(namespace, job)] = pods
    return jobs


def check_targets(base, namespace, timeout):
    """Waits until every target of every job is up at once, each pod of each job's Service and
    every MariaDB pod among them; then reports."""
    mysql_pods = {p["metadata"]["name"] for p in kubectl_json(
        "-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name=mysql,app.kubernetes.io/component=database")["items"]}
    deadline = time.monotonic() + timeout
    while True:
        jobs = servicemonitor_jobs(namespace)
        expected = {(ns, job, None): pods for (ns, job), pods in jobs.items()}
        # The kubelet ServiceMonitor of scripts/cluster/manifests/monitoring.yaml: no pods behind it.
        expected[("kube-system", "kubelet", "/metrics")] = set()
        expected[("kube-system", "kubelet", "/metrics/cadvisor")] = set()
        active = api(base, "targets", state="active")["activeTargets"]
        problems, summary = [], []
        if not any(pods >= mysql_pods for pods in jobs.values()) or len(mysql_pods) < 2:
            problems.append(f"no job has every MariaDB pod ({', '.join(sorted(mysql_pods))}) behind it: {jobs}")
        for (ns, job, path), pods in sorted(expected.items(), key=str):
            targets = [t for t in active if t["labels"].get("namespace") == ns and t["labels"].get("job") == job
                       and (path is None or t["labels"].get("metrics_path") == path)]
            up = [t for t in targets if t["health"] == "up"]
            name = f"{ns}/{job}" + (f" {path}" if path else "")
            up_pods = {t["labels"].get("pod") for t in up}
            if not targets:
                problems.append(f"{name}: no target")
            elif len(up) < len(targets):
                down = [f"{t['labels'].get('pod', t['scrapeUrl'])}: {t['lastError'] or t['health']}"
                        for t in targets if t["health"] != "up"]
                problems.append(f"{name}: {len(up)}/{len(targets)} up ({'; '.join(down)})")
            elif not pods <= up_pods:
                problems.append(f"{name}: no up target for {', '.join(sorted(pods - up_pods))}")
            else:
                summary.append(f"{name}: {len(up)} up" + (f" ({', '.join(sorted(up_pods))})" if pods else ""))
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(5)
    for line in summary:
        report(True, f"target {line}")
    for line in problems:
        report(False, f"target {line}")


def send_traffic(namespace):
    """Requests whose series the dashboards chart but a quiet cluster may not have yet: a read
    with a consistency token (already applied: the wait is reached at once) that finds no item
    (404), and a delete without a token of an item that does not exist (401, or 404 where
    authentication is off). Straight to each API pod (pod addresses are routed from the host)."""
    pods = kubectl_json("-n", namespace, "get", "pods", "-l", "app.kubernetes.io/component=api")["items"]
    answered, asked = {}, []
    for pod in pods:
        name, ip = pod["metadata"].get("labels", {}).get("app.kubernetes.io/name"), pod["status"].get("podIP")
        if not ip or pod["status"].get("phase") != "Running":
            continue
        if name == "read-api":
            request = urllib.request.Request(f"http://{ip}:8080/api/read/v1/items/{MISSING_ITEM}",
                                             headers={"X-Consistency-Token": APPLIED_TOKEN})
        elif name == "write-api":
            request = urllib.request.Request(f"http://{ip}:8080/api/write/v1/items/{MISSING_ITEM}", method="DELETE")
        else:
            continue
        try:
            urllib.request.urlopen(request, timeout=10)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            continue  # a pod going away
        answered.setdefault(name, []).append(status)
        asked.append((name, pod["metadata"]["name"]))
    report(set(answered.get("read-api", [])) == {404}
           and all(400 <= status < 500 for status in answered.get("write-api", [0])),
           f"requests to the API pods: read-api {answered.get('read-api')} (404 wanted), "
           f"write-api {answered.get('write-api')} (401 with authentication on, else 404)")
    return asked


def wait_for_series(base, namespace, asked, timeout):
    """Waits until two scrapes of each pod send_traffic asked have seen the series it made (a rate
    needs two samples). Per pod: pods replaced a moment ago are not scraped yet, while the series
    of the pods they replaced are still within the range."""
    selectors = {"read-api": ("catalog_consistency_wait_duration_seconds_count", ""),
                 "write-api": ("http_server_request_duration_seconds_count", ', http_response_status_code=~"4.."')}
    queries = []
    for name, pod in asked:
        metric, extra = selectors[name]
        queries.append(f'count_over_time({metric}{{namespace="{namespace}", pod="{pod}"{extra}}}[5m]) >= 2')
    deadline = time.monotonic() + timeout
    while True:
        missing = [q for q in queries if not api(base, "query", query=q)["result"]]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(5)
    report(bool(queries) and not missing, f"two scrapes of the consistency-wait and 4xx series of the {len(asked)} API pods" +
           (f": none for {'; '.join(missing)}" if missing else ""))


def rule_signature(base, rule):
    """What identifies a rule both in a PrometheusRule and in /api/v1/rules: its name, its
    expression as Prometheus formats it, `for` in seconds, its labels."""
    name = rule.get("alert") or rule.get("record") or rule.get("name")
    duration = rule.get("for") or rule.get("duration") or 0
    if isinstance(duration, str):
        duration = parse_duration(duration)
    expr = api(base, "format_query", query=str(rule.get("expr") or rule.get("query")))
    return name, expr, duration, tuple(sorted((rule.get("labels") or {}).items()))


def parse_duration(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total, number = 0.0, ""
    i = 0
    while i < len(text):
        if text[i].isdigit():
            number += text[i]
            i += 1
            continue
        unit = text[i:i + 2] if text[i:i + 2] == "ms" else text[i]
        total += int(number) * units[unit]
        number = ""
        i += len(unit)
    return total


def check_rules(base, rules_dir):
    """Compares every PrometheusRule group with /api/v1/rules; writes the groups as rule files."""
    crs = kubectl_json("get", "prometheusrules", "-A")["items"]
    report(bool(crs), f"{len(crs)} PrometheusRules in the cluster")
    loaded = api(base, "rules")["groups"]
    for cr in crs:
        meta = cr["metadata"]
        groups = cr["spec"].get("groups") or []
        (rules_dir / f"{meta['namespace']}-{meta['name']}.yaml").write_text(yaml.safe_dump({"groups": groups}))
        for group in groups:
            # The operator writes each PrometheusRule to its own file, named after its namespace and name.
            found = [g for g in loaded if g["name"] == group["name"] and f"/{meta['namespace']}-{meta['name']}-" in g["file"]]
            where = f"{meta['namespace']}/{meta['name']} group {group['name']}"
            if not found:
                report(False, f"rules: {where} not loaded by Prometheus")
                continue
            want = [rule_signature(base, r) for r in group["rules"]]
            have = [rule_signature(base, r) for r in found[0]["rules"]]
            errors = [f"{r['name']}: {r.get('lastError')}" for r in found[0]["rules"] if r.get("health") != "ok"]
            if want != have:
                report(False, f"rules: {where} loaded differently: want {want}, Prometheus has {have}")
            elif errors:
                report(False, f"rules: {where} evaluates with errors: {'; '.join(errors)}")
            else:
                report(True, f"rules: {where} loaded and evaluated: {', '.join(s[0] for s in have)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--namespace", default="catalog")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    version = api(base, "status/buildinfo").get("version", "?")
    print(f"Prometheus {version or '(no version)'} at {base}")
    check_targets(base, args.namespace, args.timeout)
    asked = send_traffic(args.namespace)
    with tempfile.TemporaryDirectory() as work:
        rules_dir = pathlib.Path(work)
        check_rules(base, rules_dir)
        wait_for_series(base, args.namespace, asked, args.timeout)
        dashboards = sorted(str(p) for p in (REPO / "charts" / "catalog" / "dashboards").glob("*.json"))
        result = subprocess.run([sys.executable, str(REPO / "tests" / "e2e" / "promql_live.py"), base, str(rules_dir),
                                 str(REPO / "tests" / "cluster" / "expected-empty.txt"), *dashboards],
                                env={**os.environ, "RATE_INTERVAL": RATE_INTERVAL})
        report(result.returncode == 0, "every rule and dashboard expression evaluates as expected (promql_live.py)")
    print(f"\nmonitoring: {'all checks passed' if not failures else f'{failures} checks failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
