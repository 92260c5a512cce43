#!/usr/bin/env python3
"""Asserts the per-environment differences on what real helmfile rendered.

Usage: assert_environments.py <dir> <catalog chart values.yaml>
<dir> holds, per environment <env>: <env>.yaml (`helmfile template` of the catalog release),
values/<env>-<release>.yaml (`helmfile write-values`), <env>-list.json (`helmfile list`), and
for the tofu hand-over check: local-from-tofu/ (the same for `local` with .state/infra/local.yaml).
"""
import json
import pathlib
import sys

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "catalog-chart"))
import prometheus_selection  # noqa: E402

ENVIRONMENTS = ("local", "staging", "production")
out = pathlib.Path(sys.argv[1])
chart_defaults = yaml.safe_load(pathlib.Path(sys.argv[2]).read_text())
results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
        print(f"ok   {name}")
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}")


def manifests(env):
    docs = [d for d in yaml.safe_load_all((out / f"{env}.yaml").read_text()) if d]
    if not docs:
        raise SystemExit(f"{env}: helmfile template rendered nothing")
    return docs


def find(docs, kind, name_suffix):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
    return found[0] if len(found) == 1 else None


def values(env, release):
    return yaml.safe_load((out / "values" / f"{env}-{release}.yaml").read_text()) or {}


def dig(tree, *path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def merged(defaults, overrides):
    """Helm's merge of a values file over the chart's defaults."""
    if not isinstance(defaults, dict) or not isinstance(overrides, dict):
        return overrides
    result = dict(defaults)
    for key, value in overrides.items():
        result[key] = merged(defaults.get(key), value) if key in defaults else value
    return result


rendered = {env: manifests(env) for env in ENVIRONMENTS}
catalog_values = {env: values(env, "catalog") for env in ENVIRONMENTS}
nfs_values = {env: values(env, "csi-driver-nfs") for env in ENVIRONMENTS}

# Releases and their order: the NFS CSI driver (StorageClass nfs-csi) before the catalog.
for env in ENVIRONMENTS:
    releases = {r["name"]: r for r in json.loads((out / f"{env}-list.json").read_text())}
    check(f"{env}: releases csi-driver-nfs and catalog", set(releases) == {"csi-driver-nfs", "catalog"}, sorted(releases))
    check(f"{env}: both releases enabled", all(r["enabled"] for r in releases.values()))

# API replicas and HPA bounds.
expected_hpa = {"local": (1, 4), "staging": (2, 4), "production": (3, 12)}
for env, (low, high) in expected_hpa.items():
    for api in ("write-api", "read-api"):
        hpa = find(rendered[env], "HorizontalPodAutoscaler", api)
        bounds = (dig(hpa, "spec", "minReplicas"), dig(hpa, "spec", "maxReplicas"))
        check(f"{env}: {api} HPA {low}..{high}", bounds == (low, high), bounds)
for api in ("write-api", "read-api"):
    production_min = dig(find(rendered["production"], "HorizontalPodAutoscaler", api), "spec", "minReplicas") or 0
    check(f"production: {api} keeps >= 2 pods, with a PodDisruptionBudget", production_min >= 2 and find(rendered["production"], "PodDisruptionBudget", api) is not None, production_min)
    check(f"local: {api} has no PodDisruptionBudget (one pod)", find(rendered["local"], "PodDisruptionBudget", api) is None)

# Database replicas: StatefulSet replicas = readReplicas + 1.
expected_db = {"local": 2, "staging": 3, "production": 3}
for env, pods in expected_db.items():
    sts = find(rendered[env], "StatefulSet", "mysql")
    check(f"{env}: mysql StatefulSet has {pods} pods", dig(sts, "spec", "replicas") == pods, dig(sts, "spec", "replicas"))
production_db_pods = dig(find(rendered["production"], "StatefulSet", "mysql"), "spec", "replicas") or 0
check("production: >= 2 database read replicas", production_db_pods - 1 >= 2, production_db_pods)

# Storage classes of the database volumes.
expected_storage = {"local": "standard", "staging": "nfs-csi", "production": "local-path"}
for env, storage_class in expected_storage.items():
    sts = find(rendered[env], "StatefulSet", "mysql")
    classes = {dig(t, "spec", "storageClassName") for t in dig(sts, "spec", "volumeClaimTemplates") or []}
    check(f"{env}: database volumes on StorageClass {storage_class}", classes == {storage_class}, classes)

# Resources: production requests more than local.
def cpu_millis(quantity):
    quantity = str(quantity)
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)

for api in ("write-api", "read-api"):
    cpu = {}
    for env in ("local", "production"):
        deployment = find(rendered[env], "Deployment", api)
        containers = dig(deployment, "spec", "template", "spec", "containers") or [{}]
        cpu[env] = cpu_millis(dig(containers[0], "resources", "requests", "cpu") or "0")
    check(f"{api}: production requests more CPU than local", cpu["production"] > cpu["local"], cpu)

# Ingress host and TLS.
expected_ingress = {"local": ("catalog.local", False), "staging": ("catalog.staging.example.com", True), "production": ("catalog.example.com", True)}
for env, (host, tls) in expected_ingress.items():
    ingress = find(rendered[env], "Ingress", "")
    hosts = [r["host"] for r in dig(ingress, "spec", "rules") or []]
    check(f"{env}: ingress host {host}", hosts == [host], hosts)
    check(f"{env}: TLS {'on' if tls else 'off'}", bool(dig(ingress, "spec", "tls")) == tls)
    check(f"{env}: IngressClass traefik", dig(ingress, "spec", "ingressClassName") == "traefik")

# Canary off everywhere.
for env in ENVIRONMENTS:
    canaries = [d["metadata"]["name"] for d in rendered[env] if d["kind"] == "Deployment" and dig(d, "metadata", "labels", "track") == "canary"]
    check(f"{env}: no canary Deployment", not canaries, canaries)

# Secrets: production only references pre-created Secrets; local lets the chart generate them.
for env in ENVIRONMENTS:
    generated = sorted(d["metadata"]["name"] for d in rendered[env] if d["kind"] == "Secret" and d["metadata"]["name"].startswith("mysql-"))
    if env == "production":
        check("production: no generated database Secret", generated == [], generated)
    else:
        check(f"{env}: chart generates the database Secrets", "mysql-catalog-writer" in generated, generated)

# Backups (values handed to the chart: the CronJob itself is the mysql chart's business).
expected_backup = {"local": "0 */6 * * *", "staging": "17 3 * * *", "production": "17 */6 * * *"}
for env, schedule in expected_backup.items():
    backup = dig(catalog_values[env], "mysql", "backup") or {}
    check(f"{env}: backups on at '{schedule}'", backup.get("enabled") is True and backup.get("schedule") == schedule, backup)

# Monitoring footprint: the values kube-prometheus-stack gets (the chart's defaults with the
# environment's values over them; the remote subchart itself is not rendered offline).
kps = {env: merged(chart_defaults["kube-prometheus-stack"], catalog_values[env].get("kube-prometheus-stack", {})) for env in ENVIRONMENTS}
for env in ENVIRONMENTS:
    check(f"{env}: kube-prometheus-stack on", kps[env].get("enabled") is True)
    # Our ServiceMonitors/PrometheusRules as rendered here and the stack's own (release label).
    misses = []
    prometheus_selection.check_selection(rendered[env], chart_defaults, [catalog_values[env]], "catalog", "catalog",
                                         lambda ok, message: ok or misses.append(message))
    check(f"{env}: kube-prometheus-stack's Prometheus would select our monitors and rules and its own", not misses, misses)
check("local: small monitoring (1d retention, no Alertmanager)", dig(kps["local"], "prometheus", "prometheusSpec", "retention") == "1d" and dig(kps["local"], "alertmanager", "enabled") is False)
check("production: full monitoring (2 Prometheus replicas, 15d, Alertmanager)", dig(kps["production"], "prometheus", "prometheusSpec", "replicas") == 2 and dig(kps["production"], "prometheus", "prometheusSpec", "retention") == "15d" and dig(kps["production"], "alertmanager", "enabled") is not False)
check("production: Grafana admin from a pre-created Secret", dig(kps["production"], "grafana", "admin", "existingSecret") == "catalog-grafana-admin")

# MetalLB address of Grafana per environment (defaults = the infra/envs defaults).
expected_grafana = {"local": "172.18.255.201", "staging": "192.168.56.61", "production": "10.20.0.11"}
for env, address in expected_grafana.items():
    annotations = dig(kps[env], "grafana", "service", "annotations") or {}
    check(f"{env}: Grafana asks MetalLB for {address}", annotations.get("metallb.io/loadBalancerIPs") == address, annotations)
    check(f"{env}: Grafana Service is a LoadBalancer", dig(kps[env], "grafana", "service", "type") == "LoadBalancer")

# NFS export behind the StorageClass nfs-csi.
expected_nfs = {"local": "nfs-server.nfs-server.svc.cluster.local", "staging": "nfs.staging.example.internal", "production": "nfs.prod.example.internal"}
for env, server in expected_nfs.items():
    check(f"{env}: nfs-csi StorageClass points at {server}", dig(nfs_values[env], "storageClass", "parameters", "server") == server, dig(nfs_values[env], "storageClass"))

# Image tag: the chart's appVersion by default, the state value imageTag when given.
def api_images(docs):
    return {api: dig(find(docs, "Deployment", api), "spec", "template", "spec", "containers")[0]["image"] for api in ("write-api", "read-api")}

tagged = [d for d in yaml.safe_load_all((out / "local-image-tag.yaml").read_text()) if d]
check("default image tag is the chart appVersion", api_images(rendered["local"]) == {"write-api": "catalog/write-api:0.1.0", "read-api": "catalog/read-api:0.1.0"}, api_images(rendered["local"]))
check("imageTag sets both API images", api_images(tagged) == {"write-api": "catalog/write-api:0.1.0-abc1234", "read-api": "catalog/read-api:0.1.0-abc1234"}, api_images(tagged))

# The tofu hand-over: .state/infra/local.yaml (tofu output helmfile_values) replaces the defaults.
handover = out / "local-from-tofu"
kps_tofu = yaml.safe_load((handover / "values" / "local-catalog.yaml").read_text())["kube-prometheus-stack"]
nfs_tofu = yaml.safe_load((handover / "values" / "local-csi-driver-nfs.yaml").read_text())
check("tofu output moves Grafana's address", dig(kps_tofu, "grafana", "service", "annotations", "metallb.io/loadBalancerIPs") == "172.19.255.11")
check("tofu output moves the NFS server", dig(nfs_tofu, "storageClass", "parameters", "server") == "nfs.from-tofu.test")

print(f"helmfile environments: {results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
