#!/usr/bin/env python3
"""Asserts the per-environment differences on what real helmfile rendered.

Usage: assert_environments.py <dir> <catalog chart values.yaml>
<dir> holds, per environment <env>: <env>.yaml (`helmfile template` of the catalog release),
values/<env>-<release>.yaml (`helmfile write-values`), <env>-list.json (`helmfile list`),
<env>-build.yaml (`helmfile build`: the state as helmfile loaded it), for the tofu hand-over
check: local-from-tofu/ (the same for `local` with .state/infra/local.yaml), and ci-tags.yaml
(`helmfile template` of ci with the state values mariadbImageTag, exporterImageTag and curlImageTag).
"""
import copy
import json
import pathlib
import sys

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "catalog-chart"))
import prometheus_selection  # noqa: E402

ENVIRONMENTS = ("local", "staging", "production", "ci")
out = pathlib.Path(sys.argv[1])
chart_defaults = yaml.safe_load(pathlib.Path(sys.argv[2]).read_text())
mysql_chart = pathlib.Path(__file__).resolve().parents[2] / "charts/mysql/values.yaml"
chart_exporter_tag = yaml.safe_load(mysql_chart.read_text())["metrics"]["image"]["tag"]
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
    path = out / "values" / f"{env}-{release}.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else None


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

# Releases: the NFS CSI driver (StorageClass nfs-csi) and the catalog; ci installs no NFS driver.
for env in ENVIRONMENTS:
    releases = {r["name"]: r for r in json.loads((out / f"{env}-list.json").read_text())}
    check(f"{env}: releases csi-driver-nfs and catalog", set(releases) == {"csi-driver-nfs", "catalog"}, sorted(releases))
    enabled = {name for name, r in releases.items() if r["enabled"]}
    expected = {"catalog"} if env == "ci" else {"csi-driver-nfs", "catalog"}
    check(f"{env}: enabled releases {sorted(expected)}", enabled == expected, sorted(enabled))
    check(f"{env}: write-values for exactly the enabled releases", (nfs_values[env] is not None) == ("csi-driver-nfs" in expected))

# What `helmfile apply`/`sync` do, from the state helmfile itself loaded (`helmfile build`).
for env in ENVIRONMENTS:
    state = yaml.safe_load((out / f"{env}-build.yaml").read_text())
    defaults = state.get("helmDefaults") or {}
    by_name = {r["name"]: r for r in state.get("releases") or []}
    catalog = by_name.get("catalog") or {}
    check(f"{env}: helm-diff runs with --dry-run=server (lookup of the mysql Secrets)", "--dry-run=server" in (defaults.get("diffArgs") or []), defaults.get("diffArgs"))
    check(f"{env}: a failed release rolls back (atomic), waits for workloads and Jobs",
          defaults.get("atomic") is True and defaults.get("wait") is True and defaults.get("waitForJobs") is True, defaults)
    check(f"{env}: catalog diff skips API validation on first install (its CRDs come with it)",
          catalog.get("disableValidationOnInstall") is True and catalog.get("disableValidation") is None
          and defaults.get("disableValidation") is None, catalog)
    check(f"{env}: catalog needs kube-system/csi-driver-nfs", catalog.get("needs") == ["kube-system/csi-driver-nfs"], catalog.get("needs"))
    check(f"{env}: csi-driver-nfs installed under condition csiDriverNfs.enabled", (by_name.get("csi-driver-nfs") or {}).get("condition") == "csiDriverNfs.enabled")

# API replicas and HPA bounds.
expected_hpa = {"local": (1, 4), "staging": (2, 4), "production": (3, 12), "ci": (1, 4)}
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
expected_db = {"local": 2, "staging": 3, "production": 3, "ci": 2}
for env, pods in expected_db.items():
    sts = find(rendered[env], "StatefulSet", "mysql")
    check(f"{env}: mysql StatefulSet has {pods} pods", dig(sts, "spec", "replicas") == pods, dig(sts, "spec", "replicas"))
production_db_pods = dig(find(rendered["production"], "StatefulSet", "mysql"), "spec", "replicas") or 0
check("production: >= 2 database read replicas", production_db_pods - 1 >= 2, production_db_pods)

# Storage classes of the database volumes.
expected_storage = {"local": "standard", "staging": "nfs-csi", "production": "local-path", "ci": "local-storage"}
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
expected_ingress = {"local": ("catalog.local", False), "staging": ("catalog.staging.example.com", True), "production": ("catalog.example.com", True), "ci": ("catalog.local", False)}
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

# Bearer tokens (docs/auth.md): write-api requires one everywhere, read-api nowhere. local and ci
# verify them with the public key from the Secret catalog-auth-public-key (issuer catalog-local);
# staging and production fetch their identity provider's keys over https, with egress on 443.
for env in ENVIRONMENTS:
    configs = {api: yaml.safe_load(dig(find(rendered[env], "ConfigMap", f"-{api}"), "data", "config.yaml") or "{}") or {} for api in ("write-api", "read-api")}
    auth = configs["write-api"].get("auth") or {}
    check(f"{env}: write-api requires a token, read-api does not",
          auth.get("required") is True and (configs["read-api"].get("auth") or {}).get("required") is False,
          (auth.get("required"), (configs["read-api"].get("auth") or {}).get("required")))
    deployment = find(rendered[env], "Deployment", "-write-api")
    volumes = {v["name"]: v for v in dig(deployment, "spec", "template", "spec", "volumes") or []}
    egress = find(rendered[env], "NetworkPolicy", "-write-api-jwks-egress")
    if env in ("local", "ci"):
        check(f"{env}: write-api verifies tokens of issuer catalog-local with the key mounted from Secret catalog-auth-public-key",
              auth.get("issuer") == "catalog-local" and auth.get("public_key_file") == "/var/run/secrets/catalog/auth/public.pem"
              and dig(volumes.get("auth-public-key"), "secret", "secretName") == "catalog-auth-public-key" and egress is None,
              (auth, volumes.get("auth-public-key")))
    else:
        check(f"{env}: write-api takes its keys from an https JWKS URL, with egress on 443 and no key Secret",
              str(auth.get("jwks_url", "")).startswith("https://") and str(auth.get("issuer", "")).startswith("https://")
              and "public_key_file" not in auth and "auth-public-key" not in volumes
              and (dig(egress, "spec", "egress") or [{}])[0].get("ports") == [{"port": 443, "protocol": "TCP"}],
              (auth, egress))

# Backups (values handed to the chart: the CronJob itself is the mysql chart's business).
expected_backup = {"local": "0 */6 * * *", "staging": "17 3 * * *", "production": "17 */6 * * *", "ci": "0 */6 * * *"}
for env, schedule in expected_backup.items():
    backup = dig(catalog_values[env], "mysql", "backup") or {}
    check(f"{env}: backups on at '{schedule}'", backup.get("enabled") is True and backup.get("schedule") == schedule, backup)
expected_backup_class = {"local": "nfs-csi", "staging": "nfs-csi", "production": "nfs-csi", "ci": "local-storage"}
for env, storage_class in expected_backup_class.items():
    pvcs = [d for d in rendered[env] if d["kind"] == "PersistentVolumeClaim" and "backup" in d["metadata"]["name"]]
    classes = {dig(d, "spec", "storageClassName") for d in pvcs}
    check(f"{env}: backup volume on StorageClass {storage_class}", classes == {storage_class}, classes)

# Monitoring footprint: the values kube-prometheus-stack gets (the chart's defaults with the
# environment's values over them; the remote subchart itself is not rendered offline).
kps = {env: merged(chart_defaults["kube-prometheus-stack"], catalog_values[env].get("kube-prometheus-stack", {})) for env in ENVIRONMENTS}
for env in ENVIRONMENTS:
    on = env != "ci"
    check(f"{env}: kube-prometheus-stack {'on' if on else 'off'}", kps[env].get("enabled") is on)
    # Our ServiceMonitors/PrometheusRules as rendered here and the stack's own (release label).
    misses = []
    prometheus_selection.check_selection(rendered[env], chart_defaults, [catalog_values[env]], "catalog", "catalog",
                                         lambda ok, message: ok or misses.append(message))
    check(f"{env}: kube-prometheus-stack's Prometheus would select our monitors and rules and its own", not misses, misses)
    monitoring = [d["kind"] for d in rendered[env] if d["kind"] in ("ServiceMonitor", "PrometheusRule")]
    check(f"{env}: ServiceMonitors and PrometheusRules rendered", {"ServiceMonitor", "PrometheusRule"} <= set(monitoring), monitoring)
check("local: small monitoring (1d retention, no Alertmanager)", dig(kps["local"], "prometheus", "prometheusSpec", "retention") == "1d" and dig(kps["local"], "alertmanager", "enabled") is False)
check("production: full monitoring (2 Prometheus replicas, 15d, Alertmanager)", dig(kps["production"], "prometheus", "prometheusSpec", "replicas") == 2 and dig(kps["production"], "prometheus", "prometheusSpec", "retention") == "15d" and dig(kps["production"], "alertmanager", "enabled") is not False)
check("production: Grafana admin from a pre-created Secret", dig(kps["production"], "grafana", "admin", "existingSecret") == "catalog-grafana-admin")

# MetalLB address of Grafana per environment (defaults = the infra/envs defaults).
expected_grafana = {"local": "172.18.255.201", "staging": "192.168.56.61", "production": "10.20.0.11"}
check("ci: no MetalLB address asked for Grafana (kube-prometheus-stack off)",
      "metallb.io/loadBalancerIPs" not in (dig(catalog_values["ci"], "kube-prometheus-stack", "grafana", "service", "annotations") or {}))
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

# ci equals local except for what its cluster needs: images and pull policy, StorageClasses.
def containers(docs):
    for d in docs:
        spec = dig(d, "spec", "jobTemplate", "spec", "template", "spec") or dig(d, "spec", "template", "spec") or (d["spec"] if d["kind"] == "Pod" else None)
        for c in (spec or {}).get("initContainers", []) + (spec or {}).get("containers", []):
            yield f"{d['kind']}/{d['metadata']['name']}/{c['name']}", c

def images(docs):
    return {where: (c["image"], c.get("imagePullPolicy")) for where, c in containers(docs)}

def without_ci_differences(docs):
    docs = copy.deepcopy(docs)
    for _, c in containers(docs):
        c["image"], c["imagePullPolicy"] = "<image>", "<policy>"
    for d in docs:
        for claim in ([d] if d["kind"] == "PersistentVolumeClaim" else []) + (dig(d, "spec", "volumeClaimTemplates") or []):
            claim["spec"]["storageClassName"] = "<class>"
        if d["kind"] == "Secret":  # generated passwords differ on every render
            d["data"] = {key: "<generated>" for key in d.get("data") or {}}
        annotations = dig(d, "spec", "template", "metadata", "annotations") or {}
        for key in [k for k in annotations if k.startswith("checksum/")]:
            annotations[key] = "<checksum>"
    return sorted((yaml.safe_dump(d, sort_keys=True) for d in docs))

local_docs, ci_docs = without_ci_differences(rendered["local"]), without_ci_differences(rendered["ci"])
check("ci renders the same objects as local but for images, pull policies and StorageClasses",
      local_docs == ci_docs, f"{len(set(local_docs) ^ set(ci_docs))} objects differ")
ci_images = images(rendered["ci"])
check("ci: every container has imagePullPolicy Never (no registry)", ci_images and all(p == "Never" for _, p in ci_images.values()),
      {w: p for w, (_, p) in ci_images.items() if p != "Never"})
by_image = {image.rsplit(":", 1)[0] for image, _ in ci_images.values()}
check("ci: images of the APIs, MariaDB (catalog/mariadb), the exporter and the helm test (catalog/curl)",
      by_image == {"catalog/write-api", "catalog/read-api", "docker.io/catalog/mariadb", "docker.io/catalog/mysqld-exporter", "docker.io/catalog/curl"}, by_image)
check("ci: mysqld-exporter without exporterImageTag: the chart's default tag",
      {i for i, _ in ci_images.values() if "mysqld-exporter" in i} == {f"docker.io/catalog/mysqld-exporter:{chart_exporter_tag}"},
      {i for i, _ in ci_images.values() if "mysqld-exporter" in i})
tags = images([d for d in yaml.safe_load_all((out / "ci-tags.yaml").read_text()) if d])
check("ci: mariadbImageTag, exporterImageTag and curlImageTag set the MariaDB, exporter and curl tags",
      {i for i, _ in tags.values() if "catalog/mariadb" in i} == {"docker.io/catalog/mariadb:11.8.99-test"}
      and {i for i, _ in tags.values() if "mysqld-exporter" in i} == {"docker.io/catalog/mysqld-exporter:v0.17.99-test"}
      and {i for i, _ in tags.values() if "catalog/curl" in i} == {"docker.io/catalog/curl:7.88.99-test"},
      sorted({i for i, _ in tags.values()}))

# The tofu hand-over: .state/infra/local.yaml (tofu output helmfile_values) replaces the defaults.
handover = out / "local-from-tofu"
kps_tofu = yaml.safe_load((handover / "values" / "local-catalog.yaml").read_text())["kube-prometheus-stack"]
nfs_tofu = yaml.safe_load((handover / "values" / "local-csi-driver-nfs.yaml").read_text())
check("tofu output moves Grafana's address", dig(kps_tofu, "grafana", "service", "annotations", "metallb.io/loadBalancerIPs") == "172.19.255.11")
check("tofu output moves the NFS server", dig(nfs_tofu, "storageClass", "parameters", "server") == "nfs.from-tofu.test")

print(f"helmfile environments: {results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
