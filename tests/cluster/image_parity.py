#!/usr/bin/env python3
"""The test cluster's write-api/read-api images (scripts/cluster/images.sh) must match what
docker/Dockerfile's final stages would build: USER, EXPOSE, LABEL keys (and the constant values),
ENTRYPOINT, and the binary's path, owner and mode (COPY --chown --chmod).

    tests/cluster/image_parity.py [--dockerfile docker/Dockerfile] [target=image.tar ...]

Without targets it checks write-api and read-api in the images.sh cache. Needs skopeo (reads the
image config from the docker-archive); exits 1 listing every mismatch.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def instructions(text):
    """(keyword, arguments) per instruction: continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    for entry in logical:
        keyword, _, rest = entry.partition(" ")
        yield keyword.upper(), rest.strip()


def stages(dockerfile):
    """name -> {"from": parent, "user", "expose", "labels", "entrypoint", "copies"}."""
    result, stage = {}, None
    with open(dockerfile, encoding="utf-8") as handle:
        text = handle.read()
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            match = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            stage = {"from": match.group(1), "user": None, "expose": [], "labels": {},
                     "entrypoint": None, "copies": []}
            result[match.group(2) or match.group(1)] = stage
        elif stage is None:
            continue
        elif keyword == "USER":
            stage["user"] = rest
        elif keyword == "EXPOSE":
            stage["expose"] += [p if "/" in p else p + "/tcp" for p in rest.split()]
        elif keyword == "LABEL":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                stage["labels"][key] = value
        elif keyword == "ENTRYPOINT":
            stage["entrypoint"] = json.loads(rest)
        elif keyword == "COPY":
            words = rest.split()
            flags = {w[2:].partition("=")[0]: w.partition("=")[2] for w in words if w.startswith("--")}
            paths = [w for w in words if not w.startswith("--")]
            stage["copies"].append({"chown": flags.get("chown"), "chmod": flags.get("chmod"),
                                    "dest": paths[-1]})
    return result


def effective(all_stages, name):
    """A stage merged with the stages it is built FROM (USER, EXPOSE, LABEL, ENTRYPOINT inherit)."""
    chain = []
    while name in all_stages:
        chain.append(all_stages[name])
        name = all_stages[name]["from"]
    merged = {"user": None, "expose": [], "labels": {}, "entrypoint": None, "copies": []}
    for stage in reversed(chain):
        merged["user"] = stage["user"] or merged["user"]
        merged["expose"] = merged["expose"] + stage["expose"]
        merged["labels"] = {**merged["labels"], **stage["labels"]}
        merged["entrypoint"] = stage["entrypoint"] or merged["entrypoint"]
        merged["copies"] = merged["copies"] + stage["copies"]
    return merged


def image_config(tar):
    out = subprocess.run(["skopeo", "inspect", "--config", f"docker-archive:{tar}"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["config"]


def layer_entry(tar, path):
    """The tar header of `path` in the (last layer holding it of the) docker-archive."""
    wanted = {path.lstrip("/"), "./" + path.lstrip("/")}
    found = None
    with tarfile.open(tar) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=archive.extractfile(layer)) as inner:
                for member in inner:
                    if member.name in wanted:
                        found = member
    return found


def check(dockerfile, target, tar):
    want = effective(stages(dockerfile), target)
    got = image_config(tar)
    problems = []

    def differ(what, expected, actual):
        if expected != actual:
            problems.append(f"{target}: {what}: Dockerfile {expected!r}, image {actual!r}")

    differ("USER", want["user"], got.get("User"))
    differ("EXPOSE", sorted(want["expose"]), sorted((got.get("ExposedPorts") or {}).keys()))
    differ("ENTRYPOINT", want["entrypoint"], got.get("Entrypoint"))
    labels = got.get("Labels") or {}
    differ("LABEL keys", sorted(want["labels"]), sorted(labels))
    for key, value in want["labels"].items():
        if "${" in value:  # from a build arg: any non-empty value
            if not labels.get(key):
                problems.append(f"{target}: LABEL {key} (from {value}) is empty or missing")
        else:
            differ(f"LABEL {key}", value, labels.get(key))
    copies = [c for c in want["copies"] if c["dest"] == (want["entrypoint"] or [None])[0]]
    if not copies:
        problems.append(f"{target}: no COPY in the Dockerfile writes the entrypoint {want['entrypoint']}")
    for copy in copies:
        entry = layer_entry(tar, copy["dest"])
        if entry is None:
            problems.append(f"{target}: {copy['dest']} is not in the image")
            continue
        if copy["chmod"]:
            differ(f"mode of {copy['dest']}", f"{int(copy['chmod'], 8):04o}", f"{entry.mode & 0o7777:04o}")
        if copy["chown"]:
            differ(f"owner of {copy['dest']}", copy["chown"], f"{entry.uid}:{entry.gid}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerfile", default=os.path.join(REPO, "docker", "Dockerfile"))
    parser.add_argument("targets", nargs="*", help="target=image.tar")
    args = parser.parse_args()
    cache = os.environ.get("CATALOG_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "catalog")
    targets = args.targets or [f"{t}={cache}/cluster/images/{t}.tar" for t in ("write-api", "read-api")]
    problems = []
    for spec in targets:
        target, _, tar = spec.partition("=")
        if not os.path.isfile(tar):
            problems.append(f"{target}: no image {tar} (scripts/cluster/images.sh build {target})")
            continue
        problems += check(args.dockerfile, target, tar)
    for problem in problems:
        print("MISMATCH", problem, file=sys.stderr)
    if problems:
        return 1
    print(f"ok: {', '.join(t.partition('=')[0] for t in targets)} match {os.path.relpath(args.dockerfile, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
