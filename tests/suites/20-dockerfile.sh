#!/usr/bin/env bash
# docker/: no Docker engine here, so everything that can be checked without one: checkov with zero
# unjustified findings; the image structure (pinned bases, non-root numeric USER, no shell or RUN
# in the runtime images, ports, OCI labels, exec-form entrypoints); every binary the Dockerfile
# builds or copies is a bin target of the workspace; the build context admitted by .dockerignore
# resolves the workspace with --locked; docker/build.sh tags <version>-<git sha>.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=tests/lib.sh
. tests/lib.sh
require_tools checkov cargo git jq shellcheck
venv_python=.venv/bin/python
[ -x "$venv_python" ] || { echo "$venv_python is missing: run scripts/install-tools.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "shellcheck docker/build.sh and this suite"
shellcheck -x docker/build.sh tests/suites/20-dockerfile.sh

step "checkov --framework dockerfile (zero findings; every skip carries its reason)"
# BC_SKIP_MAPPING keeps checkov from fetching its guideline mapping over the network.
BC_SKIP_MAPPING=TRUE checkov --framework dockerfile --file docker/Dockerfile \
  --output json --output-file-path "$work/checkov" >/dev/null || true
python3 tests/checkov_report.py "$work/checkov/results_json.json"

step "workspace bin targets (cargo metadata)"
cargo metadata --no-deps --format-version 1 \
  | jq -r '.packages[].targets[] | select(.kind | index("bin")) | .name' | sort >"$work/bins"
cat "$work/bins"
rust_version=$(cargo metadata --no-deps --format-version 1 | jq -r '[.packages[].rust_version // empty] | max')

# Checks the structure of a Dockerfile; exits non-zero with one line per problem.
# Arguments: Dockerfile, file listing the workspace's bin targets, minimum Rust version.
check_structure() {
  "$venv_python" tests/dockerfile/check_structure.py "$@"
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
