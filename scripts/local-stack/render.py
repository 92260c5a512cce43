#!/usr/bin/env python3
"""Turns `helm template` output of the catalog chart (environment `local`) into the local stack's
configuration, so the stack routes, alerts and autoscales from the chart's own objects:

  <out>/nginx-locations.conf  one nginx location per Ingress path (pathType Prefix), to its API
  <out>/rules/<name>.yaml     the spec of every PrometheusRule (a Prometheus rule file)
  <out>/hpa.json              per API: CPU request (cores), target utilisation, min/max replicas

usage: render.py RENDERED_YAML OUT_DIR
"""
import json
import pathlib
import sys

import yaml


def cpu_cores(quantity):
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def nginx_locations(ingress, upstream_of_service):
    """Ingress Prefix semantics: /api/read matches /api/read and /api/read/..., not /api/readx."""
    lines = []
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            if path["pathType"] != "Prefix":
                sys.exit(f"Ingress path {path['path']}: only pathType Prefix is mirrored")
            prefix = path["path"].rstrip("/")
            upstream = upstream_of_service(path["backend"]["service"]["name"])
            for location in (f"= {prefix}", f"{prefix}/"):
                lines.append(f"location {location} {{ proxy_pass http://{upstream}; }}")
    return "\n".join(lines) + "\n"


def main():
    rendered, out = sys.argv[1], pathlib.Path(sys.argv[2])
    docs = [d for d in yaml.safe_load_all(pathlib.Path(rendered).read_text()) if d]
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)

    # Service catalog-write-api -> upstream write_api (the stack defines one upstream per API).
    def upstream_of_service(name):
        for api in ("write-api", "read-api"):
            if name.endswith(api):
                return api.replace("-", "_")
        sys.exit(f"Ingress backend {name} is neither API")

    (ingress,) = by_kind["Ingress"]
    (out / "nginx-locations.conf").write_text(nginx_locations(ingress, upstream_of_service))

    rules = out / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    for rule in by_kind.get("PrometheusRule", []):
        (rules / f"{rule['metadata']['name']}.yaml").write_text(yaml.safe_dump(rule["spec"], sort_keys=False))

    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    hpa = {}
    for autoscaler in by_kind["HorizontalPodAutoscaler"]:
        spec = autoscaler["spec"]
        target = spec["scaleTargetRef"]["name"]
        container = deployments[target]["spec"]["template"]["spec"]["containers"][0]
        (cpu,) = [m["resource"]["target"]["averageUtilization"] for m in spec["metrics"]
                  if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
        api = next(a for a in ("write-api", "read-api") if target.endswith(a))
        hpa[api] = {
            "cpu_request_cores": cpu_cores(container["resources"]["requests"]["cpu"]),
            "target_utilization_percent": cpu,
            "min_replicas": spec.get("minReplicas", 1),
            "max_replicas": spec["maxReplicas"],
        }
    (out / "hpa.json").write_text(json.dumps(hpa, indent=2) + "\n")


if __name__ == "__main__":
    main()
