"""Cross-object wiring checks on one rendered release of the umbrella chart.

    python3 check_wiring.py <rendered.yaml> <chart dir> [values.yaml...]

The values files are the ones given to `helm template` (after the chart's own values.yaml), so
the checks compare the manifests with the values that produced them. Each check prints one line;
any failure makes the exit status 1. What is checked is what a syntax validator cannot see:
names and labels that must agree between objects (and between our chart and its subcharts).
"""

import math
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prometheus_selection  # noqa: E402

failures = []


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        failures.append(message)


def merge(base, override):
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main(rendered_path, chart_dir, value_paths):
    with open(rendered_path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    values = {}
    for path in [f"{chart_dir}/values.yaml", *value_paths]:
        with open(path) as f:
            merge(values, yaml.safe_load(f))
    # The mysql subchart's defaults under what the umbrella sets for it.
    with open(f"{chart_dir}/charts/mysql/values.yaml") as f:
        mysql_values = merge(yaml.safe_load(f), values["mysql"])

    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    secrets = by_kind.get("Secret", {})

    def pod_specs():
        for kind in ("Deployment", "StatefulSet", "Job", "CronJob", "Pod"):
            for name, d in by_kind.get(kind, {}).items():
                if kind == "Pod":
                    yield f"{kind}/{name}", d["metadata"].get("labels", {}), d["spec"]
                    continue
                spec = d["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else d["spec"]
                template = spec["template"]
                yield f"{kind}/{name}", template.get("metadata", {}).get("labels", {}), template["spec"]

    def app_config(api):
        return yaml.safe_load(by_kind["ConfigMap"][api]["data"]["config.yaml"])

    fullname = next(n for n in deployments if n.endswith("-write-api")).removesuffix("-write-api")
    write, read = f"{fullname}-write-api", f"{fullname}-read-api"
    mysql = values["mysql"].get("fullnameOverride") or "mysql"

    # 1. Database hosts: write-api -> primary pod through the headless Service; read-api -> read Service.
    primary = f"{mysql}-{mysql_values.get('primaryOrdinal', 0)}.{mysql}-headless"
    check(app_config(write)["database"]["host"] == primary, f"write-api database.host is the primary {primary}")
    check(app_config(read)["database"]["host"] == f"{mysql}-read", f"read-api database.host is the read Service {mysql}-read")
    check(app_config(write)["database"]["user"] == "catalog_writer", "write-api connects as catalog_writer")
    check(app_config(read)["database"]["user"] == "catalog_reader", "read-api connects as catalog_reader")
    if values["mysql"]["enabled"]:
        headless = services.get(f"{mysql}-headless")
        check(headless is not None and headless["spec"].get("clusterIP") == "None",
              f"the mysql chart renders the headless Service {mysql}-headless")
        statefulset = by_kind.get("StatefulSet", {}).get(mysql)
        check(statefulset is not None and statefulset["spec"]["serviceName"] == f"{mysql}-headless",
              f"StatefulSet {mysql} names {mysql}-headless, so pod DNS {primary} exists")
        read_service = services.get(f"{mysql}-read")
        check(read_service is not None and any(p["port"] == 3306 for p in read_service["spec"]["ports"]),
              f"the mysql chart renders the read Service {mysql}-read on 3306")
        # The APIs and the migration Job carry the labels the mysql chart's NetworkPolicy admits.
        client_labels = mysql_values["networkPolicy"]["clientLabels"]
        for where, labels, _ in pod_specs():
            if where.startswith(("Deployment/" + write, "Deployment/" + read, "Job/" + fullname + "-migrate")):
                check(selects(client_labels, labels), f"{where} carries the mysql client labels {client_labels}")
        db_pod_labels = statefulset["spec"]["template"]["metadata"]["labels"] if statefulset else {}
        for name, policy in by_kind.get("NetworkPolicy", {}).items():
            for rule in policy["spec"].get("egress", []):
                for peer in rule.get("to", []):
                    if any(p.get("port") == 3306 for p in rule.get("ports", [])):
                        check(selects(peer["podSelector"]["matchLabels"], db_pod_labels),
                              f"NetworkPolicy {name} egress on 3306 selects the database pods")

    # 2. Services select their Deployment's pods and name existing container ports.
    for name, service in services.items():
        pods = [(w, l, s) for w, l, s in pod_specs() if selects(service["spec"].get("selector"), l)]
        check(bool(pods), f"Service {name} selects at least one pod template")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str):
                for where, _, spec in pods:
                    names = {p.get("name") for c in spec["containers"] for p in c.get("ports", [])}
                    check(target in names, f"Service {name} port {port['name']} targets container port '{target}' of {where}")

    # 3. Ingress and HTTPRoute paths reach the right Service and port.
    want_routes = {"/api/write": write, "/api/read": read}
    for name, ingress in by_kind.get("Ingress", {}).items():
        for rule in ingress["spec"]["rules"]:
            got = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
            for path, service_name in want_routes.items():
                backend = got.get(path, {})
                check(backend.get("name") == service_name, f"Ingress {name}: {path} -> Service {service_name}")
                port_names = {p["name"] for p in services.get(service_name, {"spec": {"ports": []}})["spec"]["ports"]}
                check(backend.get("port", {}).get("name") in port_names and backend["port"]["name"] == "http",
                      f"Ingress {name}: {path} -> port http of {service_name}")
    for name, route in by_kind.get("HTTPRoute", {}).items():
        for rule in route["spec"]["rules"]:
            path = rule["matches"][0]["path"]["value"]
            for ref in rule["backendRefs"]:
                check(ref["name"].startswith(want_routes[path]) and ref["name"] in services,
                      f"HTTPRoute {name}: {path} -> rendered Service {ref['name']} of {want_routes[path]}")
                check(any(p["port"] == ref["port"] and p["name"] == "http" for p in services[ref["name"]]["spec"]["ports"]),
                      f"HTTPRoute {name}: {path} -> the http port of {ref['name']}")
            weights = [ref.get("weight", 1) for ref in rule["backendRefs"]]
            if len(weights) > 1:
                check(sum(weights) == 100, f"HTTPRoute {name}: {path} weights add up to 100")

    # 4. HPAs target a rendered Deployment whose containers all request CPU.
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = hpa["spec"]["scaleTargetRef"]
        deployment = deployments.get(target["name"]) if target["kind"] == "Deployment" else None
        check(deployment is not None, f"HPA {name} targets the rendered Deployment {target['name']}")
        if deployment:
            containers = deployment["spec"]["template"]["spec"]["containers"]
            check(all(c.get("resources", {}).get("requests", {}).get("cpu") for c in containers),
                  f"HPA {name}: every container of {target['name']} requests CPU")
            check("replicas" not in deployment["spec"], f"HPA {name}: {target['name']} leaves the replica count to the HPA")

    # 5. Every Secret reference resolves to a rendered Secret with that key, or to a documented one.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "documented-secrets.yaml")) as f:
        listed = yaml.safe_load(f)
    entries = listed["secrets"] + ([] if values["mysql"]["enabled"] else listed["externalDatabaseSecrets"])
    documented = {s["name"]: set(s["keys"]) for s in entries}
    for name, secret in secrets.items():
        keys = set(secret.get("data", {}) or {}) | set(secret.get("stringData", {}) or {})
        documented.setdefault(name, set()).update(keys)

    def secret_has(name, key):
        return key in documented.get(name, set())

    for where, _, spec in pod_specs():
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                name = volume["secret"]["secretName"]
                keys = [i["key"] for i in volume["secret"].get("items", [])] or [None]
                for key in keys:
                    ok = name in documented if key is None else secret_has(name, key)
                    check(ok, f"{where}: volume {volume['name']} -> Secret {name}" + (f" key {key}" if key else ""))
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    check(ref.get("optional") or secret_has(ref["name"], ref["key"]),
                          f"{where}: env {env['name']} -> Secret {ref['name']} key {ref['key']}")
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    check(source["secretRef"]["name"] in documented, f"{where}: envFrom -> Secret {source['secretRef']['name']}")
    for name, ingress in by_kind.get("Ingress", {}).items():
        for tls in ingress["spec"].get("tls", []):
            issuer = ingress["metadata"].get("annotations", {}).get("cert-manager.io/cluster-issuer")
            check(issuer or secret_has(tls["secretName"], "tls.crt"),
                  f"Ingress {name}: TLS Secret {tls['secretName']} is issued by cert-manager or documented")

    # 6. kube-prometheus-stack's Prometheus selects our monitoring objects (and the stack's own:
    # prometheus_selection.py models the selectors it renders from these values).
    kps = values["kube-prometheus-stack"]
    raw = []
    for path in [f"{chart_dir}/values.yaml", *value_paths]:
        with open(path) as f:
            raw.append(yaml.safe_load(f))
    prometheus_selection.check_selection(docs, raw[0], raw[1:], "catalog", "catalog", check)
    for name, monitor in by_kind.get("ServiceMonitor", {}).items():
        selector = monitor["spec"]["selector"].get("matchLabels", {})
        endpoints = {e["port"] for e in monitor["spec"]["endpoints"]}
        matched = [s for s in services.values() if selects(selector, s["metadata"].get("labels", {}))
                   and "track" not in s["metadata"].get("labels", {})]
        check(any(endpoints <= {p["name"] for p in s["spec"]["ports"]} for s in matched),
              f"ServiceMonitor {name} selects a Service exposing port(s) {sorted(endpoints)}")
    # Prometheus runs where kube-prometheus-stack is installed; the NetworkPolicies must admit it.
    monitoring = kps.get("namespaceOverride")
    if values["networkPolicy"]["enabled"] and monitoring:
        selector = values["networkPolicy"]["prometheus"]["namespaceSelector"].get("matchLabels", {})
        check(selector.get("kubernetes.io/metadata.name") == monitoring,
              f"networkPolicy.prometheus admits the namespace kube-prometheus-stack runs in ({monitoring})")
        if values["mysql"]["enabled"]:
            metrics_from = mysql_values["networkPolicy"]["metricsFrom"]["namespaceSelector"].get("matchLabels", {})
            check(metrics_from.get("kubernetes.io/metadata.name") == monitoring,
                  f"the mysql chart's exporter policy admits the namespace {monitoring}")
    sidecar = kps["grafana"]["sidecar"]["dashboards"]
    for name, config_map in by_kind.get("ConfigMap", {}).items():
        if "-dashboard-" in name:
            check(config_map["metadata"].get("labels", {}).get(sidecar["label"]) == sidecar["labelValue"],
                  f"dashboard ConfigMap {name} carries the Grafana sidecar label {sidecar['label']}={sidecar['labelValue']}")

    # 7. Stopping: preStop covers the drain delay; the grace period covers preStop + drain + grace.
    for api in (write, read):
        deployment = deployments[api]
        pod = deployment["spec"]["template"]["spec"]
        shutdown = app_config(api)["shutdown"]
        pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        needed = pre_stop + math.ceil((shutdown["drain_delay_ms"] + shutdown["grace_period_ms"]) / 1000)
        check(pre_stop * 1000 >= shutdown["drain_delay_ms"],
              f"{api}: preStop sleep {pre_stop}s covers drain_delay_ms {shutdown['drain_delay_ms']}")
        check(pod["terminationGracePeriodSeconds"] > needed,
              f"{api}: terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} > preStop + drain + grace = {needed}s")

    # 8. Authentication: the key files the config names are mounted there, from the Secret or
    # ConfigMap the values name, in every track of the API; an API that fetches a JWKS may leave
    # the namespace on the URL's port.
    for api in (write, read):
        auth = app_config(api).get("auth") or {}
        for key, kind in (("public_key_file", "secret"), ("jwks_ca_file", "configMap")):
            path = auth.get(key)
            if not path:
                continue
            directory, file = os.path.dirname(path), os.path.basename(path)
            for name, deployment in deployments.items():
                if not name.startswith(api):
                    continue
                pod = deployment["spec"]["template"]["spec"]
                mounts = [m for m in pod["containers"][0].get("volumeMounts", []) if m["mountPath"] == directory]
                volumes = {v["name"]: v for v in pod.get("volumes", [])}
                source = volumes.get(mounts[0]["name"], {}).get(kind, {}) if mounts else {}
                check(len(mounts) == 1 and mounts[0].get("readOnly") is True
                      and [i["path"] for i in source.get("items", [])] == [file],
                      f"Deployment/{name}: auth.{key} {path} is a read-only {kind} volume holding that file alone")
        url = auth.get("jwks_url")
        if auth.get("required") and url:
            policy = by_kind.get("NetworkPolicy", {}).get(f"{api}-jwks-egress")
            if values["networkPolicy"]["enabled"]:
                check(policy is not None and policy["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/name") == api.removeprefix(f"{fullname}-"),
                      f"{api}: NetworkPolicy {api}-jwks-egress lets it reach {url}")

    print(f"wiring: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
