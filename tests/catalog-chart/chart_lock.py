"""Checks (or writes) charts/catalog/Chart.lock against Chart.yaml the way helm does.

    python3 chart_lock.py check <chart dir> [helmfile.yaml]
    python3 chart_lock.py write <chart dir>   # offline stand-in for `helm dependency update`

helm records in Chart.lock each dependency's resolved version and a digest of Chart.yaml's
dependencies plus the locked list: resolver.HashReq (helm internal/resolver/resolver.go) is
"sha256:" + sha256 over Go's json.Marshal of [requirements, locked]. The `generated` time is not
part of it; `helm dependency build` refuses a lock whose digest does not match. Remote charts
cannot be resolved here, so every version in Chart.yaml is pinned exactly and the lock repeats it
(for file:// dependencies, the version must equal the local chart's own version).

`check` also refuses a remote version its chart repository does not publish (a pin nobody can
download fails `helm dependency update` and `helmfile apply`), against PUBLISHED below: the
versions the repositories' indexes listed when last looked at. With a helmfile.yaml it checks the
versions of its remote releases against the same list.
"""

import datetime
import hashlib
import json
import os
import re
import sys

import yaml

# Field order and omitempty of helm's chart.Dependency (pkg/chart/v2/dependency.go).
FIELDS = ("name", "version", "repository", "condition", "tags", "enabled", "import-values", "alias")
ALWAYS = ("name", "repository")

CSI_NFS = "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts"
PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
# Published versions seen on 2026-11-29, exactly as the repositories spell them (update this when
# moving a pin, after looking at the repository again):
# - csi-driver-nfs: charts/index.yaml of kubernetes-csi/csi-driver-nfs (generated 2026-07-02); the
#   4.x entries, newest first. From 4.11.0 on the index spells versions without a "v".
# - kube-prometheus-stack: the release tag kube-prometheus-stack-88.5.3 of
#   prometheus-community/helm-charts, the newest 88.x tag of its snapshot of 2026-08-22
#   (chart-releaser publishes each tag into the index).
PUBLISHED = {
    (CSI_NFS, "csi-driver-nfs"): {
        "4.13.4", "4.13.3", "4.13.2", "4.13.1", "4.13.0", "4.12.1", "4.12.0", "4.11.0",
        "v4.10.0", "v4.9.0", "v4.8.0", "v4.7.0",
    },
    (PROMETHEUS_COMMUNITY, "kube-prometheus-stack"): {"88.5.3"},
}


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
    # Go's json.Marshal escapes <, > and & in strings; none occur in these fields.
    data = json.dumps([[go_json(d) for d in requirements], [go_json(d) for d in lock]], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def unpublished(repository, name, version):
    """A problem when repository/name is a remote chart whose index does not list version."""
    if repository.startswith("file://"):
        return None
    known = PUBLISHED.get((repository.rstrip("/"), name))
    if known is None:
        return f"{name} from {repository}: no record of its published versions (add it to PUBLISHED)"
    if version not in known:
        return f"{name} {version} is not published in {repository} (seen: {', '.join(sorted(known))})"
    return None


def helmfile_remote_releases(path):
    """(repository URL, chart name, version) of each release of helmfile.yaml from a chart repository."""
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    repositories = {r["name"]: r["url"] for d in docs for r in d.get("repositories") or []}
    for doc in docs:
        for release in doc.get("releases") or []:
            repo, _, chart = release["chart"].partition("/")
            if repo in repositories:
                yield repositories[repo], chart, str(release.get("version", ""))


def lock_text(requirements, want):
    # What `helm dependency update` writes: sigs.k8s.io/yaml of chart.Lock (keys sorted, the time
    # as RFC 3339 with nanoseconds, trailing zeros dropped, double-quoted).
    now = datetime.datetime.now(datetime.timezone.utc)
    fraction = f"{now.microsecond:06d}000".rstrip("0")
    generated = now.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
    lines = ["dependencies:"]
    for dep in want:
        lines += [f"- name: {dep['name']}", f"  repository: {dep['repository']}", f"  version: {dep['version']}"]
    lines += [f"digest: {digest(requirements, want)}", f'generated: "{generated}"']
    return "\n".join(lines) + "\n"


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def main(command, chart_dir, helmfile=None):
    with open(os.path.join(chart_dir, "Chart.yaml")) as f:
        requirements = yaml.safe_load(f)["dependencies"]
    for dep in requirements:
        dep["version"] = str(dep["version"])
    want = [locked(chart_dir, d) for d in requirements]
    path = os.path.join(chart_dir, "Chart.lock")
    if command == "write":
        with open(path, "w") as f:
            f.write(lock_text(requirements, want))
        print(f"wrote {path}")
        return 0
    with open(path) as f:
        text = f.read()
    lock = yaml.load(text, Loader=yaml.BaseLoader)  # strings as written, timestamps unparsed
    problems = []
    if lock["dependencies"] != want:
        problems.append(f"locked dependencies {lock['dependencies']} differ from Chart.yaml's {want}")
    if lock["digest"] != digest(requirements, lock["dependencies"]):
        problems.append("digest does not match Chart.yaml (helm dependency build would refuse it)")
    if not RFC3339.match(lock.get("generated", "")):
        problems.append(f"generated {lock.get('generated')!r} is not an RFC 3339 time")
    for dep in requirements:
        problem = unpublished(dep["repository"], dep["name"], dep["version"])
        if problem:
            problems.append(f"Chart.yaml: {problem}")
    if helmfile:
        for repository, name, version in helmfile_remote_releases(helmfile):
            problem = unpublished(repository, name, version)
            if problem:
                problems.append(f"{os.path.basename(helmfile)}: {problem}")
    for p in problems:
        print("FAIL", p)
    if not problems:
        print(f"Chart.lock matches Chart.yaml, every remote version is published: "
              f"{', '.join(d['name'] + ' ' + d['version'] for d in want)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
