#!/usr/bin/env python3
"""Writes a copy of a Chart.yaml that keeps only its file:// dependencies, which
`helm dependency update` resolves without network.

usage: file_dependencies.py CHART_YAML OUT_CHART_YAML
"""
import sys

import yaml


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    with open(source) as file:
        chart = yaml.safe_load(file)
    chart["dependencies"] = [d for d in chart["dependencies"] if d["repository"].startswith("file://")]
    with open(target, "w") as file:
        yaml.safe_dump(chart, file, sort_keys=False)


if __name__ == "__main__":
    main()
