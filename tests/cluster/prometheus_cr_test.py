#!/usr/bin/env python3
"""Checks scripts/cluster/prometheus_cr.py: the test cluster's Prometheus resource carries the
selectors kube-prometheus-stack renders from our values (the mapping modelled in
tests/catalog-chart/prometheus_selection.py), for every environment and for values that exercise
each branch of the *NilUsesHelmValues mapping. Prints one line per check; exits 1 on failure.

    python3 tests/cluster/prometheus_cr_test.py
"""
import pathlib
import subprocess
import sys

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, str(REPO / "scripts" / "cluster"))
sys.path.insert(0, str(REPO / "tests" / "catalog-chart"))
import prometheus_cr  # noqa: E402
import prometheus_selection  # noqa: E402

CHART = yaml.safe_load((REPO / "charts" / "catalog" / "values.yaml").read_text())
COMMON = yaml.safe_load((REPO / "values" / "common.yaml").read_text())
KINDS = ("serviceMonitor", "podMonitor", "probe", "rule")
failures = 0


def check(ok, message):
    global failures
    failures += 0 if ok else 1
    print(("ok   " if ok else "FAIL ") + message)


def spec_for(environments, **options):
    args = dict(release="catalog", image="img:v1", version="v1", scrape_interval=None,
                evaluation_interval=None, service_account="prometheus")
    args.update(options)
    return prometheus_cr.prometheus_resource(CHART, environments, **args)


def with_spec(**fields):
    """A helmfile environment setting kube-prometheus-stack.prometheus.prometheusSpec fields."""
    return {"catalog": {"kube-prometheus-stack": {"prometheus": {"prometheusSpec": fields}}}}


# Every environment: each kind selected by an empty selector in every namespace, as the chart's
# values ask; ScrapeConfigs (none of ours) by the stack's release label.
for env in ("local", "staging", "production", "ci"):
    environment = yaml.safe_load((REPO / "values" / f"{env}.yaml").read_text())
    resource = spec_for([COMMON, environment])
    spec = resource["spec"]
    check(all(spec.get(f"{k}Selector") == {} and spec.get(f"{k}NamespaceSelector") == {} for k in KINDS),
          f"{env}: every ServiceMonitor, PodMonitor, Probe and PrometheusRule in every namespace")
    check(spec.get("scrapeConfigSelector") == {"matchLabels": {"release": "catalog"}}
          and spec.get("scrapeConfigNamespaceSelector") == {},
          f"{env}: ScrapeConfigs by release=catalog (scrapeConfigSelectorNilUsesHelmValues left true)")
    check(resource["metadata"]["namespace"] == "monitoring"
          and resource["metadata"]["name"] == "catalog-kube-prometheus-st-prometheus",
          f"{env}: monitoring/catalog-kube-prometheus-st-prometheus, the stack's name for release catalog")
    values = prometheus_selection.stack_values(CHART, [COMMON.get("catalog"), environment.get("catalog")])
    check(spec["retention"] == values["prometheus"]["prometheusSpec"]["retention"],
          f"{env}: retention {spec['retention']} from the values")

# The same as prometheus_selection's model, field by field, for values that take every branch.
cases = {
    "NilUsesHelmValues true, empty selector -> release label":
        with_spec(serviceMonitorSelectorNilUsesHelmValues=True, serviceMonitorSelector={}),
    "a selector given -> that selector":
        with_spec(ruleSelector={"matchLabels": {"prometheus": "catalog"}}),
    "ruleSelector null, NilUsesHelmValues false -> no ruleSelector (selects none)":
        with_spec(ruleSelector=None),
    "podMonitorSelector null, NilUsesHelmValues false -> {} (only rule and scrapeConfig may be left out)":
        with_spec(podMonitorSelector=None),
    "scrapeConfigSelectorNilUsesHelmValues false -> {}":
        with_spec(scrapeConfigSelectorNilUsesHelmValues=False),
    "scrapeConfigSelector and its namespace selector null, NilUsesHelmValues false -> both left out":
        with_spec(scrapeConfigSelectorNilUsesHelmValues=False, scrapeConfigSelector=None,
                  scrapeConfigNamespaceSelector=None),
    "a namespace selector given -> that selector":
        with_spec(serviceMonitorNamespaceSelector={"matchLabels": {"team": "catalog"}}),
}
expected = {
    "NilUsesHelmValues true, empty selector -> release label":
        ("serviceMonitorSelector", {"matchLabels": {"release": "catalog"}}),
    "a selector given -> that selector": ("ruleSelector", {"matchLabels": {"prometheus": "catalog"}}),
    "ruleSelector null, NilUsesHelmValues false -> no ruleSelector (selects none)": ("ruleSelector", None),
    "podMonitorSelector null, NilUsesHelmValues false -> {} (only rule and scrapeConfig may be left out)":
        ("podMonitorSelector", {}),
    "scrapeConfigSelectorNilUsesHelmValues false -> {}": ("scrapeConfigSelector", {}),
    "scrapeConfigSelector and its namespace selector null, NilUsesHelmValues false -> both left out":
        ("scrapeConfigNamespaceSelector", None),
    "a namespace selector given -> that selector":
        ("serviceMonitorNamespaceSelector", {"matchLabels": {"team": "catalog"}}),
}
for name, environment in cases.items():
    spec = spec_for([COMMON, environment])["spec"]
    field, want = expected[name]
    got = spec.get(field)
    check(got == want, f"{name}: {field} = {got}")
    if name.startswith("scrapeConfigSelector and"):
        check("scrapeConfigSelector" not in spec, f"{name}: scrapeConfigSelector left out")
    # Objects labelled like ours are selected exactly when prometheus_selection says so.
    values = prometheus_selection.stack_values(CHART, [COMMON.get("catalog"), environment.get("catalog")])
    selectors = prometheus_selection.rendered_selectors(values, "catalog")
    check(all(spec.get(f"{prefix}Selector") == selectors[kind][0]
              and spec.get(f"{prefix}NamespaceSelector") == selectors[kind][1]
              for kind, prefix in prometheus_selection.KINDS.items()),
          f"{name}: every kind's selectors as prometheus_selection renders them")

# Other releases and fullnameOverride change the name as the stack's helper does.
check(prometheus_cr.stack_fullname({}, "kube-prometheus-stack") == "kube-prometheus-stack",
      "a release named like the chart is the full name")
check(prometheus_cr.stack_fullname({"fullnameOverride": "kps"}, "catalog") == "kps", "fullnameOverride")
spec = spec_for([COMMON], scrape_interval="10s", evaluation_interval="5s")["spec"]
check(spec.get("scrapeInterval") == "10s" and spec.get("evaluationInterval") == "5s", "test-cluster intervals when given")
check("scrapeInterval" not in spec_for([COMMON])["spec"], "no interval unless given (the stack's default)")
check(spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"},
      "the stack's default pod securityContext (restricted: non-root, RuntimeDefault seccomp)")

# The command line prints one Prometheus resource.
out = subprocess.run([sys.executable, str(REPO / "scripts" / "cluster" / "prometheus_cr.py"), "--image", "i:v3",
                      "--version", "v3", str(REPO / "charts" / "catalog" / "values.yaml"),
                      str(REPO / "values" / "common.yaml"), str(REPO / "values" / "ci.yaml")],
                     check=True, capture_output=True, text=True).stdout
doc = yaml.safe_load(out)
check(doc["kind"] == "Prometheus" and doc["spec"]["image"] == "i:v3" and doc["spec"]["version"] == "v3",
      "prometheus_cr.py prints the Prometheus resource with our image and version")

print(f"prometheus_cr.py: {'all checks passed' if not failures else f'{failures} checks failed'}")
sys.exit(1 if failures else 0)
