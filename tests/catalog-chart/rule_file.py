#!/usr/bin/env python3
"""Writes the groups of one rendered PrometheusRule as a Prometheus rule file (for promtool).

usage: rule_file.py RENDERED_YAML PROMETHEUS_RULE_NAME OUT_YAML
"""
import sys

import yaml


def main() -> None:
    rendered, name, target = sys.argv[1:4]
    with open(rendered) as file:
        rules = [d for d in yaml.safe_load_all(file)
                 if d and d["kind"] == "PrometheusRule" and d["metadata"]["name"] == name]
    if len(rules) != 1:
        sys.exit(f"{rendered}: expected one PrometheusRule {name}, found {len(rules)}")
    with open(target, "w") as file:
        yaml.safe_dump({"groups": rules[0]["spec"]["groups"]}, file, sort_keys=False)


if __name__ == "__main__":
    main()
