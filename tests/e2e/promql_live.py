#!/usr/bin/env python3
"""Evaluates every PromQL expression of the chart's dashboards and rules against a live Prometheus.

    promql_live.py PROMETHEUS_URL RULES_DIR EXPECTED_EMPTY DASHBOARD.json...

Dashboards: each template variable is resolved the way Grafana does (label_values(<selector>,
<label>) through the series API; "All" = every value): a variable used with =~ becomes the
alternation of its values, one used with = its first value. A variable with no values (its source
metric is absent here) takes the stack's value from FALLBACK. $__rate_interval becomes 1m, or
$RATE_INTERVAL when set (Grafana's value is four scrape intervals: 2m for a 30s scrape).
Rules: every recording rule's expression and every alert's expression.

An expression that returns no series fails, unless EXPECTED_EMPTY lists it (by alert name or
dashboard "<uid>:<panel id>:<refId>") with a reason. Listed expressions must still be built from
metrics that exist: each metric selector in them must return series, unless its metric name
starts with a prefix listed as "prefix:<name> <reason>" (metrics no process here exports); only
the matchers on target labels (namespace, job, service, pod, container) are kept for this.
A listed expression that does return series is reported too, so the list cannot go stale.
Prints one line per expression; exits 1 on any failure.
"""
import json
import os
import pathlib
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

import yaml

FALLBACK = {"namespace": "catalog"}
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}")
LABEL_VALUES = re.compile(r"^label_values\((.*),\s*(\w+)\)$", re.S)
# A metric selector: a name followed by {...}, or a bare name with one of our metric prefixes.
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})|"
                      r"\b((?:mysql|catalog|http|db|kube|container|kubelet)_[a-zA-Z0-9_:]*)\b(?!\s*[({])")


def api(base, path, **params):
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.load(response)
    if body["status"] != "success":
        raise RuntimeError(f"{path} {params}: {body}")
    return body["data"]


def query(base, expr):
    try:
        return api(base, "query", query=expr)["result"]
    except urllib.error.HTTPError as error:
        sys.exit(f"Prometheus rejected {expr}: {error.read().decode()}")


def load_expected(path):
    expected, missing_prefixes = {}, {}
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, reason = line.split(None, 1)
        if key.startswith("prefix:"):
            missing_prefixes[key[len("prefix:"):]] = reason
        else:
            expected[key] = reason
    return expected, missing_prefixes


def dashboard_exprs(base, path):
    dashboard = json.loads(pathlib.Path(path).read_text())
    values = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query_text = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        selector, label = LABEL_VALUES.match(query_text.strip()).groups()
        selector = substitute(selector, values)
        series = api(base, "series", **{"match[]": selector})
        found = sorted({s[label] for s in series if label in s})
        values[variable["name"]] = found or [FALLBACK.get(variable["name"], ".+")]
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield f"{dashboard['uid']}:{panel['id']}:{target['refId']}", substitute(target["expr"], values)


def substitute(expr, values):
    rate_interval = os.environ.get("RATE_INTERVAL", "1m")
    expr = expr.replace("$__rate_interval", rate_interval).replace("$__interval", "1m")

    def regex_use(match):
        name = match.group(1)
        # Grafana's "All": the values as an alternation (label values here need no regex escaping).
        return f'=~"{"|".join(values[name])}"'
    expr = re.sub(r'=~\s*"\$\{?(\w+)\}?"', regex_use, expr)

    def plain_use(match):
        return values[match.group(1) or match.group(2)][0]
    return VARIABLE.sub(plain_use, expr)


def rule_exprs(rules_dir):
    for path in sorted(pathlib.Path(rules_dir).glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    yield rule["record"], rule["record"]  # the recorded series, as evaluated by Prometheus
                else:
                    yield rule["alert"], rule["expr"]


TARGET_LABELS = ("namespace", "job", "service", "pod", "container")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')


def selectors(expr):
    """(metric name, selector) of each metric selector, keeping only the matchers that pick our
    targets: the others pick values (a 5xx status, a timeout outcome) an empty result may lack."""
    seen = set()
    for match in SELECTOR.finditer(expr):
        name = match.group(1) or match.group(3)
        if match.group(1) in ("by", "without", "on", "ignoring", "group_left", "group_right"):
            continue
        matchers = [m.group(0) for m in MATCHER.finditer(match.group(2) or "") if m.group(1) in TARGET_LABELS]
        selector = f"{name}{{{', '.join(matchers)}}}" if matchers else name
        if selector not in seen:
            seen.add(selector)
            yield name, selector


def main():
    base, rules_dir, expected_path, dashboards = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    expected, missing_prefixes = load_expected(expected_path)
    exprs = list(rule_exprs(rules_dir))
    for path in dashboards:
        exprs.extend(dashboard_exprs(base, path))
    failures = with_series = listed = 0
    for key, expr in exprs:
        result = query(base, expr)
        one_line = " ".join(expr.split())
        if result and key not in expected:
            with_series += 1
            print(f"ok     {key}: {len(result)} series")
        elif result:
            failures += 1
            print(f"FAIL   {key}: listed as empty ({expected[key]}) but returns {len(result)} series")
        elif key not in expected:
            failures += 1
            print(f"FAIL   {key}: no series for {one_line}")
        else:
            listed += 1
            problems = []
            for name, selector in selectors(expr):
                if any(name.startswith(p) for p in missing_prefixes):
                    continue
                if not query(base, selector):
                    problems.append(selector)
            if problems:
                failures += 1
                print(f"FAIL   {key}: listed as empty, but its selectors match nothing: {', '.join(problems)}")
            else:
                print(f"empty  {key}: {expected[key]}")
    print(f"\n{len(exprs)} expressions: {with_series} with series, {listed} legitimately empty, {failures} failed")
    for prefix, reason in missing_prefixes.items():
        print(f"  metrics {prefix}*: {reason}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
