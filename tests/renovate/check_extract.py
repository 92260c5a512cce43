"""Checks Renovate's own extraction of the repository against renovate.json.

Usage: check_extract.py <report.json> <renovate.json> <expected-pins.txt>

The report is what `renovate --platform=local --dry-run=extract --report-type=file` writes: every
package file and dependency each manager found, custom regex managers included (each reported
with its matchStrings). Fails when
  - a custom manager found nothing, or one of its matchStrings matched nothing;
  - a matchString uses lookaround or a backreference: hosted Renovate runs RE2, which has neither,
    while the Renovate installed here falls back to JavaScript regexes and would accept them;
  - a pin of expected-pins.txt was not extracted with a current version;
  - Renovate logged an error.
"""

import json
import re
import sys

RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]|\\k<")


def python_regex(renovate_regex):
    """Renovate's named groups (?<name>...) in Python's spelling (?P<name>...)."""
    return re.compile(re.sub(r"\(\?<([A-Za-z]\w*)>", r"(?P<\1>", renovate_regex))


def manager_key(manager):
    return (tuple(manager["matchStrings"]), manager.get("depNameTemplate"), manager.get("datasourceTemplate"))


def main(report_path, config_path, expected_path):
    with open(report_path) as f:
        report = json.load(f)
    with open(config_path) as f:
        config = json.load(f)
    (repository,) = report["repositories"].values()
    problems = []

    found = {}  # (manager, package file) -> {depName: [dep]}
    custom_deps = {}  # manager_key -> [dep]
    for manager, package_files in repository["packageFiles"].items():
        for package_file in package_files:
            deps = package_file["deps"]
            by_name = found.setdefault((manager, package_file["packageFile"]), {})
            for dep in deps:
                by_name.setdefault(dep.get("depName"), []).append(dep)
            if manager == "regex":
                custom_deps.setdefault(manager_key(package_file), []).extend(deps)

    for index, manager in enumerate(config.get("customManagers", [])):
        label = f"customManagers[{index}] ({manager.get('description', '')[:70]})"
        deps = custom_deps.get(manager_key(manager), [])
        if not deps:
            problems.append(f"{label} matched nothing in {manager['managerFilePatterns']}")
        for match_string in manager["matchStrings"]:
            if RE2_UNSUPPORTED.search(match_string):
                problems.append(f"{label}: {match_string!r} uses lookaround or a backreference, which RE2 lacks")
            pattern = python_regex(match_string)
            if deps and not any(pattern.fullmatch(dep.get("replaceString", "")) for dep in deps):
                problems.append(f"{label}: matchString {match_string!r} matched nothing")
        print(f"{label}: {len(deps)} pins")

    with open(expected_path) as f:
        expected = [line.split() for line in f if line.strip() and not line.lstrip().startswith("#")]
    for manager, package_file, dep_name in expected:
        # A name can occur more than once (a Terraform provider's requirement and its configuration).
        deps = found.get((manager, package_file), {}).get(dep_name, [])
        if not deps:
            problems.append(f"{manager} did not find {dep_name} in {package_file}")
        elif not any(dep.get("currentValue") and not dep.get("skipReason") for dep in deps):
            problems.append(f"{manager} found {dep_name} in {package_file} without a usable version: {deps}")
    print(f"{len(expected)} expected pins from {expected_path} checked")

    for logged in report.get("problems", []) + repository.get("problems", []):
        if logged.get("level", 0) >= 50:
            problems.append(f"Renovate logged an error: {logged.get('msg')}")

    total = sum(len(deps) for deps in found.values())
    print(f"Renovate extracted {total} dependencies from {len(found)} package files")
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
