#!/usr/bin/env python3
"""Prints the values helmfile hands one release: the KEY section of each values file, merged
in order (maps key by key, anything else replaced), as YAML.

usage: merge_values.py KEY VALUES_FILE...
"""
import sys

import yaml


def merge(into: dict, update: dict) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def main() -> None:
    key, paths = sys.argv[1], sys.argv[2:]
    values: dict = {}
    for path in paths:
        with open(path) as file:
            merge(values, (yaml.safe_load(file) or {}).get(key, {}))
    yaml.safe_dump(values, sys.stdout)


if __name__ == "__main__":
    main()
