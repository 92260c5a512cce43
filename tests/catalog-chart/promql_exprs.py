"""Collects the PromQL of the chart's dashboards and alert rules, in forms the tools can check.

    python3 promql_exprs.py exprs <rules.yaml> <dashboard.json>...   one expression per line
    python3 promql_exprs.py rules <dashboard.json>...                 a promtool rule file

Grafana variables are replaced by values of the right type before parsing: $__rate_interval and
$__interval by a duration, every other $variable by a label value ("x"). A variable query
label_values(<selector>, <label>) contributes its selector.
"""

import json
import re
import sys

import yaml

VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}")
LABEL_VALUES = re.compile(r"^label_values\((.*),\s*\w+\)$", re.S)


def substitute(expr):
    def value(match):
        name = match.group(1) or match.group(2)
        return "5m" if name in ("__rate_interval", "__interval", "__range") else "x"
    return VARIABLE.sub(value, expr)


def dashboard_exprs(path):
    with open(path) as f:
        dashboard = json.load(f)
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            match = LABEL_VALUES.match(query.strip())
            if not match:
                sys.exit(f"{path}: variable {variable['name']}: only label_values(<selector>, <label>) queries are supported")
            yield f"{dashboard['uid']}:var:{variable['name']}", substitute(match.group(1))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield f"{dashboard['uid']}:{panel['id']}:{target['refId']}", substitute(target["expr"])


def rule_exprs(path):
    with open(path) as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                yield rule.get("alert") or rule["record"], rule["expr"]


def one_line(expr):
    return " ".join(expr.split())


def main(command, paths):
    if command == "exprs":
        for path in paths:
            exprs = rule_exprs(path) if path.endswith((".yaml", ".yml")) else dashboard_exprs(path)
            for _, expr in exprs:
                print(one_line(expr))
    elif command == "rules":
        rules = [{"record": "dashboard:" + re.sub(r"[^a-zA-Z0-9_:]", "_", name), "expr": expr}
                 for path in paths for name, expr in dashboard_exprs(path)]
        yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, sys.stdout, sort_keys=False)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
