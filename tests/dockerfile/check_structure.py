#!/usr/bin/env python3
"""Checks the structure of a Dockerfile; exits non-zero with one line per problem.

usage: check_structure.py DOCKERFILE BINS_FILE RUST_VERSION
  BINS_FILE lists the workspace's bin targets; RUST_VERSION is the minimum Rust version.
"""
import json, re, sys
from dockerfile_parse import DockerfileParser

path, bins_file, rust_version = sys.argv[1:4]
workspace_bins = set(open(bins_file).read().split())
images = ["write-api", "read-api"]
problems = []

stages, current = {}, None
for item in DockerfileParser(path).structure:
    instruction, value = item["instruction"], item["value"].strip()
    if instruction == "FROM":
        base, _, name = value.partition(" AS ")
        current = {"name": name.strip(), "base": base.strip(), "items": []}
        stages[current["name"] or f"#{len(stages)}"] = current
    elif current is not None and instruction != "COMMENT":
        current["items"].append((instruction, value))

def version(text):
    return tuple(int(part) for part in text.split("."))

# Base images: pinned by a tag that is not `latest` (or a digest); the Rust toolchain is exact
# and new enough for the workspace's rust-version.
for stage in stages.values():
    base = stage["base"]
    if base in stages:
        continue
    repository, _, tag = base.rpartition(":") if ":" in base.split("/")[-1] else (base, "", "")
    if "@sha256:" not in base and (not tag or tag == "latest" or "$" in base):
        problems.append(f"base image {base!r} is not pinned to a tag or digest")
    if repository.split("/")[-1] == "rust":
        exact = re.match(r"(\d+\.\d+\.\d+)-", tag)
        if not exact:
            problems.append(f"Rust base {base!r} must name an exact toolchain (x.y.z)")
        elif version(exact.group(1)) < version(rust_version):
            problems.append(f"Rust base {base!r} is older than the workspace rust-version {rust_version}")

def chain(name):
    """The stage and the stages it is built on, the stage itself first."""
    stage = stages[name]
    return [stage] + (chain(stage["base"]) if stage["base"] in stages else [])

built = set()
for stage in stages.values():
    for instruction, value in stage["items"]:
        if instruction == "RUN" and "cargo build" in value:
            built |= set(re.findall(r"--bin[ =]([\w-]+)", value))
        if instruction == "COPY":
            for binary in re.findall(r"target/release/([\w-]+)", value):
                if binary not in workspace_bins:
                    problems.append(f"COPY of {binary!r}, which is not a bin target of the workspace")
for binary in sorted(built - workspace_bins):
    problems.append(f"cargo build --bin {binary}: no such bin target in the workspace")

for image in images:
    if image not in stages:
        problems.append(f"no build target (stage) named {image!r}")
        continue
    if image not in built:
        problems.append(f"the builder does not build --bin {image}")
    layers = chain(image)
    items = [item for stage in reversed(layers) for item in stage["items"]]
    external_base = layers[-1]["base"]
    if "distroless" not in external_base:
        problems.append(f"{image}: runtime base {external_base!r} is not distroless (shell-free)")
    runs = [value for instruction, value in items if instruction == "RUN"]
    if runs:
        problems.append(f"{image}: RUN in the runtime image needs a shell: {runs}")
    users = [value for instruction, value in items if instruction == "USER"]
    uid = users[-1].split(":")[0] if users else ""
    if not uid.isdigit() or int(uid) == 0:
        problems.append(f"{image}: final USER {users[-1] if users else None!r} is not a numeric non-root uid")
    exposed = {port for instruction, value in items if instruction == "EXPOSE" for port in value.split()}
    if not {"8080", "9464"} <= exposed:
        problems.append(f"{image}: EXPOSE {sorted(exposed)} lacks 8080 and 9464")
    entrypoints = [value for instruction, value in items if instruction == "ENTRYPOINT"]
    try:
        entrypoint = json.loads(entrypoints[-1]) if entrypoints else None
    except json.JSONDecodeError:
        entrypoint = entrypoints[-1]
    if entrypoint != [f"/usr/local/bin/{image}"]:
        problems.append(f"{image}: ENTRYPOINT {entrypoint!r} is not the exec form of /usr/local/bin/{image}")
    copies = [value for instruction, value in items if instruction == "COPY"]
    if not any(f"target/release/{image} /usr/local/bin/{image}" in value for value in copies):
        problems.append(f"{image}: does not copy target/release/{image} to /usr/local/bin/{image}")
    labels = " ".join(value for instruction, value in items if instruction == "LABEL")
    args = {value.split("=")[0] for instruction, value in items if instruction == "ARG"}
    for label, arg in [("version", "VERSION"), ("revision", "REVISION"), ("source", "SOURCE")]:
        if f'org.opencontainers.image.{label}="${{{arg}}}"' not in labels or arg not in args:
            problems.append(f"{image}: label org.opencontainers.image.{label} is not set from build arg {arg}")
    if "org.opencontainers.image.title" not in labels:
        problems.append(f"{image}: no org.opencontainers.image.title label")

for problem in problems:
    print(f"PROBLEM {path}: {problem}")
if not problems:
    print(f"{path}: images {', '.join(images)} pass the structure checks")
sys.exit(1 if problems else 0)
