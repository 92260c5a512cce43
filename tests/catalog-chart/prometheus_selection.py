"""What the Prometheus of kube-prometheus-stack selects, computed from the values we pass it.

    python3 prometheus_selection.py <rendered.yaml> <chart values.yaml> [values.yaml...]
        [--release catalog] [--namespace catalog]

<rendered.yaml> is our chart rendered with the same values (its ServiceMonitors, PodMonitors,
Probes and PrometheusRules, labels included, the mysql subchart's too); the values files are the
umbrella chart's, applied in order over its values.yaml, as `helm template -f` does. The remote
subchart cannot be downloaded here, so this models it, for kube-prometheus-stack 88.5.3
(https://github.com/prometheus-community/helm-charts/tree/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack):

- templates/prometheus/prometheus.yaml renders each of serviceMonitorSelector, podMonitorSelector
  and probeSelector as: the value when it is non-empty; else `matchLabels: {release: <release>}`
  when <kind>SelectorNilUsesHelmValues is true; else `{}`. ruleSelector the same, except that a
  null (removed) ruleSelector with ruleSelectorNilUsesHelmValues false leaves the field out. Each
  <kind>NamespaceSelector is the value when non-empty, else `{}`. (Go templates: an empty map is
  false.) Values holding templates (the chart passes selectors through `tpl`) are not modelled.
- values.yaml defaults: every <kind>SelectorNilUsesHelmValues true, every selector and namespace
  selector `{}` (STACK_DEFAULTS below).
- scrapeConfigSelector (ScrapeConfig objects; our charts render none) like the others, except
  that a null selector with scrapeConfigSelectorNilUsesHelmValues false, and a null
  scrapeConfigNamespaceSelector, leave the field out (prometheus_spec_selectors).
- The stack's own monitors and rules (kubelet/cAdvisor, kube-state-metrics, node-exporter, the
  operator, Prometheus, Grafana; the default rules) are labelled by the helper
  `kube-prometheus-stack.labels` (templates/_helpers.tpl) or, for the kube-state-metrics and
  node-exporter subcharts, with `releaseLabel: true`: `release: <release>` in both cases.
- The Prometheus Operator (Prometheus CRD): an empty selector selects every object, a missing
  (null) one selects none; an empty namespace selector means every namespace, a missing one only
  Prometheus's own.

Each check prints one line; any failure makes the exit status 1.
"""

import argparse
import sys

import yaml

STACK_VERSION = "88.5.3"
KINDS = {"ServiceMonitor": "serviceMonitor", "PodMonitor": "podMonitor", "Probe": "probe", "PrometheusRule": "rule"}
STACK_DEFAULTS = {"prometheus": {"prometheusSpec": {
    key: value for prefix in [*KINDS.values(), "scrapeConfig"] for key, value in (
        (f"{prefix}SelectorNilUsesHelmValues", True), (f"{prefix}Selector", {}), (f"{prefix}NamespaceSelector", {}))
}}}


def coalesce(base, override):
    """Helm's merge of a values file over defaults: maps merge key by key, null removes a key."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    result = dict(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = coalesce(base.get(key), value)
    return result


def stack_values(chart_values, overrides):
    values = coalesce(STACK_DEFAULTS, chart_values.get("kube-prometheus-stack") or {})
    for override in overrides:
        values = coalesce(values, (override or {}).get("kube-prometheus-stack") or {})
    return values


def rendered_selectors(values, release):
    """{kind: (selector or None, namespace selector)} as prometheus.yaml renders them."""
    spec = values["prometheus"]["prometheusSpec"]
    result = {}
    for kind, prefix in KINDS.items():
        value = spec.get(f"{prefix}Selector")
        if "{{" in yaml.safe_dump(value):
            raise SystemExit(f"{prefix}Selector uses a template; not modelled here")
        if value:
            selector = value
        elif spec.get(f"{prefix}SelectorNilUsesHelmValues"):
            selector = {"matchLabels": {"release": release}}
        elif prefix == "rule" and value is None:
            selector = None
        else:
            selector = {}
        result[kind] = (selector, spec.get(f"{prefix}NamespaceSelector") or {})
    return result


def prometheus_spec_selectors(values, release):
    """The selector fields of the Prometheus resource prometheus.yaml renders, in its order; a
    field it leaves out is absent (the operator then selects nothing of that kind)."""
    spec = values["prometheus"]["prometheusSpec"]
    fields = {}
    for kind, (selector, namespace_selector) in rendered_selectors(values, release).items():
        prefix = KINDS[kind]
        if selector is not None:
            fields[f"{prefix}Selector"] = selector
        fields[f"{prefix}NamespaceSelector"] = namespace_selector
    value = spec.get("scrapeConfigSelector")
    if "{{" in yaml.safe_dump(value):
        raise SystemExit("scrapeConfigSelector uses a template; not modelled here")
    if value:
        fields["scrapeConfigSelector"] = value
    elif spec.get("scrapeConfigSelectorNilUsesHelmValues"):
        fields["scrapeConfigSelector"] = {"matchLabels": {"release": release}}
    elif value is not None:
        fields["scrapeConfigSelector"] = {}
    namespace_selector = spec.get("scrapeConfigNamespaceSelector")
    if namespace_selector is not None:
        fields["scrapeConfigNamespaceSelector"] = namespace_selector
    return fields


def matches(selector, labels):
    """Kubernetes label selector semantics; None (absent) matches nothing."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        ok = {"In": key in labels and labels[key] in values,
              "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels,
              "DoesNotExist": key not in labels}[operator]
        if not ok:
            return False
    return True


def selected(selectors, prometheus_namespace, kind, namespace, labels):
    selector, namespace_selector = selectors[kind]
    in_namespace = (namespace == prometheus_namespace if namespace_selector is None
                    else matches(namespace_selector, {"kubernetes.io/metadata.name": namespace}))
    return in_namespace and matches(selector, labels)


def stack_labels(release):
    """kube-prometheus-stack.labels for chart version STACK_VERSION (Release.Service is Helm)."""
    return {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": release,
            "app.kubernetes.io/version": STACK_VERSION, "app.kubernetes.io/part-of": "kube-prometheus-stack",
            "chart": f"kube-prometheus-stack-{STACK_VERSION}", "release": release, "heritage": "Helm"}


def check_selection(docs, chart_values, overrides, release, namespace, report):
    """Reports, per object, whether the stack's Prometheus selects it; returns the failure count."""
    values = stack_values(chart_values, overrides)
    selectors = rendered_selectors(values, release)
    prometheus_namespace = values.get("namespaceOverride") or namespace
    failures = 0

    def expect(ok, message):
        nonlocal failures
        failures += 0 if ok else 1
        report(ok, message)

    ours = [d for d in docs if d and d.get("kind") in KINDS]
    for doc in ours:
        labels = doc["metadata"].get("labels") or {}
        where = doc["metadata"].get("namespace") or namespace
        expect(selected(selectors, prometheus_namespace, doc["kind"], where, labels),
               f"ours: {doc['kind']} {where}/{doc['metadata']['name']} is selected "
               f"({KINDS[doc['kind']]}Selector {selectors[doc['kind']][0]})")
    # Kinds the chart renders none of (PodMonitor, Probe): one labelled like ours, should it come.
    ours_labels = (chart_values.get("metrics") or {}).get("serviceMonitor", {}).get("labels") or {}
    for kind in sorted(set(KINDS) - {d["kind"] for d in ours}):
        expect(selected(selectors, prometheus_namespace, kind, namespace, ours_labels),
               f"like ours: a {kind} in {namespace} labelled {ours_labels} is selected "
               f"({KINDS[kind]}Selector {selectors[kind][0]})")
    for kind in KINDS:
        expect(selected(selectors, prometheus_namespace, kind, prometheus_namespace, stack_labels(release)),
               f"the stack's own: a {kind} in {prometheus_namespace} labelled release={release} is selected "
               f"({KINDS[kind]}Selector {selectors[kind][0]})")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rendered")
    parser.add_argument("chart_values")
    parser.add_argument("values", nargs="*")
    parser.add_argument("--release", default="catalog")
    parser.add_argument("--namespace", default="catalog")
    args = parser.parse_args()
    with open(args.rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    with open(args.chart_values) as f:
        chart_values = yaml.safe_load(f)
    overrides = []
    for path in args.values:
        with open(path) as f:
            overrides.append(yaml.safe_load(f))

    def report(ok, message):
        print(("ok   " if ok else "FAIL ") + message)

    kinds = {d.get("kind") for d in docs}
    present = {"ServiceMonitor", "PrometheusRule"} <= kinds
    report(present, "the chart renders ServiceMonitors and PrometheusRules")
    failures = check_selection(docs, chart_values, overrides, args.release, args.namespace, report)
    failures += 0 if present else 1
    print(f"kube-prometheus-stack {STACK_VERSION} Prometheus selection: {'all selected' if not failures else f'{failures} not selected'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
