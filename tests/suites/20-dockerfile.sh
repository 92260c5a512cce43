#!/usr/bin/env bash
# docker/: no Docker engine here, so everything that can be checked without one: checkov with zero
# unjustified findings; the image structure (pinned bases, non-root numeric USER, no shell or RUN
# in the runtime images, ports, OCI labels, exec-form entrypoints); every binary the Dockerfile
# builds or copies is a bin target of the workspace; the build context admitted by .dockerignore
# resolves the workspace with --locked; docker/build.sh tags <version>-<git sha>.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
for tool in checkov cargo git jq shellcheck; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-tools.sh" >&2; exit 1; }
done
venv_python=.venv/bin/python
[ -x "$venv_python" ] || { echo "$venv_python is missing: run scripts/install-tools.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf -- '--- %s\n' "$*"; }

step "shellcheck docker/build.sh and this suite"
shellcheck docker/build.sh tests/suites/20-dockerfile.sh

step "checkov --framework dockerfile (zero findings; every skip carries its reason)"
# BC_SKIP_MAPPING keeps checkov from fetching its guideline mapping over the network.
BC_SKIP_MAPPING=TRUE checkov --framework dockerfile --file docker/Dockerfile \
  --output json --output-file-path "$work/checkov" >/dev/null || true
jq -e -r '
  (.results.passed_checks | length) as $passed
  | (.results.failed_checks) as $failed
  | [.results.skipped_checks[] | select((.check_result.suppress_comment // "") | length < 20)] as $unjustified
  | ($failed[] | "FAILED \(.check_id) \(.check_name) (line \(.file_line_range[0]))"),
    ($unjustified[] | "SKIPPED WITHOUT A REASON \(.check_id)"),
    "checkov: \($passed) passed, \($failed | length) failed, \(.results.skipped_checks | length) skipped with a reason",
    ($passed > 0 and ($failed | length) == 0 and ($unjustified | length) == 0)
' "$work/checkov/results_json.json" >"$work/checkov.out"
sed '$d' "$work/checkov.out"
[ "$(tail -n 1 "$work/checkov.out")" = true ]

step "workspace bin targets (cargo metadata)"
cargo metadata --no-deps --format-version 1 \
  | jq -r '.packages[].targets[] | select(.kind | index("bin")) | .name' | sort >"$work/bins"
cat "$work/bins"
rust_version=$(cargo metadata --no-deps --format-version 1 | jq -r '[.packages[].rust_version // empty] | max')

# Checks the structure of a Dockerfile; exits non-zero with one line per problem.
# Arguments: Dockerfile, file listing the workspace's bin targets, minimum Rust version.
check_structure() {
  "$venv_python" - "$@" <<'PY'
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
PY
}

step "image structure of docker/Dockerfile"
check_structure docker/Dockerfile "$work/bins" "$rust_version"

step "the structure checks reject broken Dockerfiles"
refute() {
  local what=$1 expected=$2 script=$3
  mkdir -p "$work/broken"
  sed "$script" docker/Dockerfile >"$work/broken/Dockerfile"
  cmp -s docker/Dockerfile "$work/broken/Dockerfile" && { echo "mutation for '$what' changed nothing" >&2; exit 1; }
  if check_structure "$work/broken/Dockerfile" "$work/bins" "$rust_version" >"$work/broken.out"; then
    echo "not rejected: $what" >&2; exit 1
  fi
  grep -q -- "$expected" "$work/broken.out" || { echo "rejected '$what' for another reason:" >&2; cat "$work/broken.out" >&2; exit 1; }
  echo "rejected: $what"
}
refute "root user" "not a numeric non-root uid" 's/^USER 65532:65532$/USER 0/'
refute "named user" "not a numeric non-root uid" 's/^USER 65532:65532$/USER nonroot/'
refute "untagged runtime base" "not pinned" 's|distroless/cc-debian12:nonroot|distroless/cc-debian12|'
refute "latest Rust" "not pinned" 's|rust:[^ ]*|rust:latest|'
refute "Rust older than rust-version" "older than the workspace" 's|rust:[0-9.]*-|rust:1.70.0-|'
refute "unknown binary" "no such bin target" 's|--bin read-api|--bin read-apii|'
refute "shell in the runtime" "RUN in the runtime image" 's|^EXPOSE 8080 9464$|EXPOSE 8080 9464\nRUN ["/busybox/sh", "-c", "true"]|'
refute "admin port missing" "lacks 8080 and 9464" 's|^EXPOSE 8080 9464$|EXPOSE 8080|'
refute "shell-form entrypoint" "exec form" 's|^ENTRYPOINT \["/usr/local/bin/read-api"\]$|ENTRYPOINT /usr/local/bin/read-api|'
refute "revision label missing" "image.revision" '/org.opencontainers.image.revision=/d'

step "the build context admitted by .dockerignore resolves the workspace (--locked)"
# .dockerignore excludes everything ('*') and re-admits an allowlist ('!path'); copy exactly that.
[ "$(grep -v -e '^#' -e '^$' .dockerignore | head -n 1)" = '*' ] || { echo ".dockerignore must start by excluding everything" >&2; exit 1; }
mkdir "$work/context"
while read -r admitted; do
  admitted=${admitted#!}
  admitted=${admitted%/}
  [ -e "$admitted" ] || { echo ".dockerignore admits $admitted, which does not exist" >&2; exit 1; }
  mkdir -p "$work/context/$(dirname "$admitted")"
  cp -R "$admitted" "$work/context/$admitted"
done < <(grep '^!' .dockerignore)
find "$work/context" -type d -name target -prune -exec rm -rf {} +
(cd "$work/context" && cargo metadata --locked --format-version 1 >/dev/null)
echo "context: $(find "$work/context" -type f | wc -l) files; Cargo.lock is complete for the workspace"

step "docker/build.sh tags <workspace version>-<short git sha>"
version=$(cargo metadata --no-deps --format-version 1 | jq -r '.packages[] | select(.name == "write-api") | .version')
short_sha=$(git rev-parse --short HEAD)
IMAGE_SOURCE=https://example.com/catalog.git docker/build.sh --print | tee "$work/build.out"
for service in write-api read-api; do
  grep -E -q -- "--target $service .*--build-arg VERSION=$version --build-arg REVISION=$(git rev-parse HEAD) --build-arg SOURCE=https://example.com/catalog.git --tag catalog/$service:$version-$short_sha(-dirty)? \.$" "$work/build.out" \
    || { echo "docker/build.sh does not build and tag $service as catalog/$service:$version-$short_sha" >&2; exit 1; }
done
echo "docker/build.sh: both images tagged $version-$short_sha"
