#!/usr/bin/env python3
"""Checks every pod template in rendered manifests against Pod Security "restricted" (plus this
project's read-only root filesystem rule) and prints one line per violation.

usage: pod_security.py RENDERED_YAML...
"""
import sys

import yaml

ALLOWED_VOLUME_KINDS = {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected",
                        "downwardAPI", "ephemeral", "csi"}


def pod_specs(doc):
    kind = doc.get("kind")
    spec = doc.get("spec", {})
    if kind in ("StatefulSet", "Deployment", "DaemonSet", "ReplicaSet", "Job"):
        yield spec["template"]["spec"]
    elif kind == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]
    elif kind == "Pod":
        yield spec


def violations(name, pod):
    pod_ctx = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            yield f"{name}: {flag}"
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_KINDS:
            yield f"{name}: volume {volume['name']} is {sorted(kinds)}"
    for container in pod.get("initContainers", []) + pod.get("containers", []):
        where = f"{name}/{container['name']}"
        ctx = container.get("securityContext", {})

        def setting(key):
            return ctx.get(key, pod_ctx.get(key))

        if ctx.get("privileged"):
            yield f"{where}: privileged"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation is not false"
        if setting("runAsNonRoot") is not True:
            yield f"{where}: runAsNonRoot is not true"
        if setting("runAsUser") == 0:
            yield f"{where}: runs as uid 0"
        if (setting("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            yield f"{where}: seccompProfile is not RuntimeDefault"
        caps = ctx.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            yield f"{where}: capabilities do not drop ALL"
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            yield f"{where}: adds capabilities {caps['add']}"
        if ctx.get("readOnlyRootFilesystem") is not True:
            yield f"{where}: root filesystem is writable"
        if container.get("ports") and any(p.get("hostPort") for p in container["ports"]):
            yield f"{where}: hostPort"


def main() -> int:
    found = []
    pods = 0
    for path in sys.argv[1:]:
        for doc in yaml.safe_load_all(open(path)):
            if not doc:
                continue
            for pod in pod_specs(doc):
                pods += 1
                found += violations(f"{path.rsplit('/', 1)[-1]}:{doc['kind']}/{doc['metadata']['name']}", pod)
    for line in found:
        print(line)
    print(f"{pods} pod templates checked, {len(found)} violations")
    return 1 if found or pods == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
