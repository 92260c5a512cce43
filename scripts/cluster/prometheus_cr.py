#!/usr/bin/env python3
"""The Prometheus resource of the test cluster, as kube-prometheus-stack would render it from our values.

    prometheus_cr.py --image REF --version VERSION [--scrape-interval 10s] [--evaluation-interval 5s]
        [--release catalog] [--service-account prometheus]
        <chart values.yaml> [helmfile environment values.yaml...]

The environment files are helmfile's (values/common.yaml, values/ci.yaml, ...): their `catalog:`
tree is what values/catalog.yaml.gotmpl hands the chart, applied in order over the chart's
values.yaml. From the resulting `kube-prometheus-stack:` values this prints (YAML) the Prometheus
resource the stack's templates/prometheus/prometheus.yaml would make, for the fields that decide
what it scrapes and evaluates: every *Selector and *NamespaceSelector (computed by
tests/catalog-chart/prometheus_selection.py, which models the *NilUsesHelmValues mapping), its
name and namespace (namespaceOverride), retention, resources, the stack's default pod
securityContext and WAL compression. Test-cluster settings come from the options: our image and
its version, and short scrape/evaluation intervals (the stack's defaults: 30s/30s).
No Alertmanager: the ci environment has none (kube-prometheus-stack is off there, and `local`
turns Alertmanager off).
"""
import argparse
import pathlib
import sys

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "catalog-chart"))
import prometheus_selection  # noqa: E402

# kube-prometheus-stack's values.yaml (prometheus_selection.STACK_VERSION) for the fields below.
STACK_SPEC_DEFAULTS = {
    "retention": "10d",
    "walCompression": True,
    "securityContext": {"runAsGroup": 2000, "runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 2000,
                        "seccompProfile": {"type": "RuntimeDefault"}},
}


def stack_fullname(values, release):
    """The helper kube-prometheus-stack.fullname: <release>-<chart> cut to 26 characters."""
    if values.get("fullnameOverride"):
        return values["fullnameOverride"][:26].rstrip("-")
    name = values.get("nameOverride") or "kube-prometheus-stack"
    return (release if name in release else f"{release}-{name}")[:26].rstrip("-")


def prometheus_resource(chart_values, environments, release, image, version, scrape_interval,
                        evaluation_interval, service_account):
    overrides = [(env or {}).get("catalog") or {} for env in environments]
    values = prometheus_selection.stack_values(chart_values, overrides)
    spec_values = {**STACK_SPEC_DEFAULTS, **values["prometheus"]["prometheusSpec"]}
    fullname = stack_fullname(values, release)
    name = fullname if values.get("cleanPrometheusOperatorObjectNames") else f"{fullname}-prometheus"
    spec = {
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "version": version,
        "replicas": 1,
        "serviceAccountName": service_account,
        "securityContext": spec_values["securityContext"],
        "retention": spec_values["retention"],
        "walCompression": spec_values["walCompression"],
        "portName": "http-web",
    }
    if scrape_interval:
        spec["scrapeInterval"] = scrape_interval
    if evaluation_interval:
        spec["evaluationInterval"] = evaluation_interval
    if spec_values.get("resources"):
        spec["resources"] = spec_values["resources"]
    spec.update(prometheus_selection.prometheus_spec_selectors(values, release))
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {
            "name": name,
            "namespace": values.get("namespaceOverride") or "monitoring",
            "labels": {"app": "kube-prometheus-stack-prometheus", "release": release},
        },
        "spec": spec,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chart_values")
    parser.add_argument("environments", nargs="*")
    parser.add_argument("--image", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--scrape-interval")
    parser.add_argument("--evaluation-interval")
    parser.add_argument("--release", default="catalog")
    parser.add_argument("--service-account", default="prometheus")
    args = parser.parse_args(argv)
    chart_values = yaml.safe_load(pathlib.Path(args.chart_values).read_text())
    environments = [yaml.safe_load(pathlib.Path(p).read_text()) for p in args.environments]
    resource = prometheus_resource(chart_values, environments, args.release, args.image, args.version,
                                   args.scrape_interval, args.evaluation_interval, args.service_account)
    yaml.safe_dump(resource, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
