"""Checks (or writes) charts/catalog/Chart.lock against Chart.yaml the way helm does.

    python3 chart_lock.py check <chart dir>
    python3 chart_lock.py write <chart dir>   # offline stand-in for `helm dependency update`

helm records in Chart.lock each dependency's resolved version and a digest of Chart.yaml's
dependencies plus the locked list (sha256 over Go's JSON encoding of [requirements, locked]);
`helm dependency build` refuses a lock whose digest does not match. Remote charts cannot be
resolved here, so every version in Chart.yaml is pinned exactly and the lock repeats it (for
file:// dependencies, the version must equal the local chart's own version).
"""

import datetime
import hashlib
import json
import os
import sys

import yaml

# Field order and omitempty of helm's chart.Dependency (pkg/chart/v2/dependency.go).
FIELDS = ("name", "version", "repository", "condition", "tags", "enabled", "import-values", "alias")
ALWAYS = ("name", "repository")


def go_json(dep):
    return {k: dep[k] for k in FIELDS if k in dep and (k in ALWAYS or dep[k])}


def locked(chart_dir, dep):
    version = str(dep["version"])
    if dep["repository"].startswith("file://"):
        with open(os.path.join(chart_dir, dep["repository"][len("file://"):], "Chart.yaml")) as f:
            local = str(yaml.safe_load(f)["version"])
        if local != version:
            sys.exit(f"{dep['name']}: Chart.yaml pins {version} but {dep['repository']} is {local}")
    return {"name": dep["name"], "repository": dep["repository"], "version": version}


def digest(requirements, lock):
    data = json.dumps([[go_json(d) for d in requirements], [go_json(d) for d in lock]], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def main(command, chart_dir):
    with open(os.path.join(chart_dir, "Chart.yaml")) as f:
        requirements = yaml.safe_load(f)["dependencies"]
    for dep in requirements:
        dep["version"] = str(dep["version"])
    want = [locked(chart_dir, d) for d in requirements]
    path = os.path.join(chart_dir, "Chart.lock")
    if command == "write":
        lock = {"dependencies": want, "digest": digest(requirements, want),
                "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")}
        with open(path, "w") as f:
            yaml.safe_dump(lock, f, sort_keys=False)
        print(f"wrote {path}")
        return 0
    with open(path) as f:
        lock = yaml.safe_load(f)
    problems = []
    if lock["dependencies"] != want:
        problems.append(f"locked dependencies {lock['dependencies']} differ from Chart.yaml's {want}")
    if lock["digest"] != digest(requirements, lock["dependencies"]):
        problems.append("digest does not match Chart.yaml (helm dependency build would refuse it)")
    for p in problems:
        print("FAIL", p)
    if not problems:
        print(f"Chart.lock matches Chart.yaml: {', '.join(d['name'] + ' ' + d['version'] for d in want)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
