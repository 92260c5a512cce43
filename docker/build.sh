#!/usr/bin/env bash
# Builds catalog/write-api and catalog/read-api from docker/Dockerfile and tags each
# <version>-<short git SHA>, the version being [workspace.package] version in Cargo.toml.
#   docker/build.sh            build both images
#   docker/build.sh --print    only print the docker commands (no Docker needed)
# IMAGE_PREFIX (default "catalog") changes the repository, e.g. IMAGE_PREFIX=registry.example.com/catalog;
# IMAGE_SOURCE (default: the git remote "origin") sets the org.opencontainers.image.source label.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

print_only=false
case "${1:-}" in
  --print) print_only=true ;;
  "") ;;
  *) echo "usage: $0 [--print]" >&2; exit 2 ;;
esac

version=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "no [workspace.package] version in Cargo.toml" >&2; exit 1; }
revision=$(git rev-parse HEAD)
tag="$version-$(git rev-parse --short HEAD)"
# A tag must name exactly one build: refuse to stamp uncommitted changes with a commit's SHA.
if [ -n "$(git status --porcelain -- Cargo.toml Cargo.lock services docker)" ]; then
  tag="$tag-dirty"
fi
prefix=${IMAGE_PREFIX:-catalog}

for service in write-api read-api; do
  command=(docker build --file docker/Dockerfile --target "$service"
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision"
    --build-arg "SOURCE=${IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null || echo unknown)}"
    --tag "$prefix/$service:$tag" .)
  if $print_only; then
    line=$(printf '%q ' "${command[@]}")
    echo "${line% }"
  else
    "${command[@]}"
  fi
done
