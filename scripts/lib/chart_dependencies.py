#!/usr/bin/env python3
"""Prints the dependencies of a Chart.yaml, one "name version repository" line each, for
offline-chart.sh.

usage: chart_dependencies.py CHART_YAML
"""
import sys

import yaml


def main() -> None:
    with open(sys.argv[1]) as chart:
        for dependency in yaml.safe_load(chart)["dependencies"]:
            print(dependency["name"], dependency["version"], dependency["repository"])


if __name__ == "__main__":
    main()
