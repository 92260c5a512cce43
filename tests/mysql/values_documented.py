#!/usr/bin/env python3
"""Fails when a key of charts/mysql/values.yaml has no row in the README's values table: each
leaf key, or one of its parents, must appear there in backticks (`auth.<account>.existingSecret`
and `probes.startup.*` style rows cover their families).

usage: values_documented.py VALUES_YAML README_MD
"""
import re
import sys

import yaml


def leaves(node, prefix=""):
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip(".")


def main() -> int:
    values = yaml.safe_load(open(sys.argv[1]))
    table = [line for line in open(sys.argv[2]) if line.startswith("| `")]
    documented = set()
    for line in table:
        for token in re.findall(r"`([^`]+)`", line.split("|")[1]):
            documented.add(token.removesuffix(".*"))
    patterns = [re.compile("^" + re.escape(d).replace(re.escape("<account>"), "[^.]+") + "$") for d in documented]

    def covered(path):
        parts = path.split(".")
        prefixes = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
        return any(p.match(prefix) for prefix in prefixes for p in patterns)

    missing = [path for path in leaves(values) if not covered(path)]
    for path in missing:
        print(f"undocumented value: {path}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
