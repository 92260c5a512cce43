#!/usr/bin/env python3
"""Reads a Prometheus text exposition on stdin and prints "<sample name> <label name>" for
every label of every sample.

usage: curl -fsS .../metrics | metric_labels.py
"""
import re
import sys

SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')


def main() -> None:
    for line in sys.stdin:
        sample = SAMPLE.match(line)
        if sample:
            for label in LABEL.findall(sample.group(2)):
                print(sample.group(1), label)


if __name__ == "__main__":
    main()
