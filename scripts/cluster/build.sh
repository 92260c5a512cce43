#!/usr/bin/env bash
# Builds every component of scripts/tools/cluster-components.txt into the cluster cache, once per
# version (a second run only checks), and prints where they are.
#
#   scripts/cluster/build.sh            -> $CATALOG_CACHE/cluster/bin/<name> (+ kubernetes-<version>/)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/cluster/lib.sh
. "$root/scripts/cluster/lib.sh"

export GOFLAGS=-mod=mod CGO_ENABLED=0

# Directory of a downloaded module@version (the module cache).
module_dir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

# A module whose go.mod replaces its sibling modules with ../paths (etcd), or its nested modules with
# ./paths a module download leaves out (prometheus-operator), is built from a wrapper module that
# requires it and pins each such module at the published version of the same release.
build_with_wrapper() {
  local name=$1 module_at_version=$2 package=$3 out=$4
  local module=${module_at_version%@*} version=${module_at_version#*@} dir work
  dir=$(module_dir "$module_at_version")
  work=$(mktemp -d)
  {
    echo "module catalog.test/$name-build"
    grep -m1 '^go ' "$dir/go.mod"
    echo "require $module $version"
    sed -n 's#^[[:space:]]*\([^ ]*\) => \.\{1,2\}/.*#replace \1 => \1 '"$version"'#p' "$dir/go.mod"
  } > "$work/go.mod"
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$out" "$package")
  rm -rf "$work"
}

build_in_module() {
  local module_at_version=$1 package=$2 out=$3 dir
  dir=$(module_dir "$module_at_version")
  [ -n "$dir" ] || { log "cannot download $module_at_version"; return 1; }
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$out" "$package")
}

mkdir -p "$CLUSTER_BIN"
while read -r name module_at_version package how; do
  if [ "$name" = kubernetes ]; then
    "$root/scripts/cluster/build-kubernetes.sh" "${module_at_version#*@}" "$KUBERNETES_BIN"
    continue
  fi
  [ "$package" = - ] && continue  # sources only (CRDs, charts): `go mod download` at use
  stamp="$CLUSTER_BIN/.$name.version"
  [ -x "$CLUSTER_BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$module_at_version $package" ] && continue
  log "building $name from $module_at_version"
  if [ "${how:-}" = wrapper ]; then
    build_with_wrapper "$name" "$module_at_version" "$package" "$CLUSTER_BIN/$name.tmp"
  else
    build_in_module "$module_at_version" "$package" "$CLUSTER_BIN/$name.tmp"
  fi
  mv "$CLUSTER_BIN/$name.tmp" "$CLUSTER_BIN/$name"
  echo "$module_at_version $package" > "$stamp"
done < <(component_entries)
log "components in $CLUSTER_BIN and $KUBERNETES_BIN"
