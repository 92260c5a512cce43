#!/usr/bin/env bash
# Installs every tool the test suite needs. Idempotent: a second run only checks.
#
#   Debian packages  scripts/tools/apt-packages.txt   (apt-get, needs root or sudo)
#   Go-built CLIs    scripts/tools/go-tools.txt       -> bin/
#   PyPI tools       scripts/tools/requirements.txt   -> .venv/
#   npm tools        scripts/tools/renovate/          -> .cache/renovate/
#   MariaDB 11.8     scripts/mariadb-rootfs.sh        -> bin/mariadbd, bin/mariadb, ... (launchers
#                    into a Debian trixie root filesystem cached by its package versions)
#
# Rust needs rustfmt and clippy; rustup adds them when missing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lists="$root/scripts/tools"
bin="$root/bin"
venv="$root/.venv"

log() { printf '[install-tools] %s\n' "$*"; }

# Lines of a list file without comments and blanks.
entries() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=()
  local pkg
  while read -r pkg; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done < <(entries "$lists/apt-packages.txt")
  [ ${#missing[@]} -eq 0 ] && return
  log "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  # policy-rc.d keeps Debian from starting system services: the tests run their own servers.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Every test runs the MariaDB series the chart deploys (11.8 LTS), from Debian trixie's packages
# whatever the host runs; the launchers in bin/ come first on every test's PATH.
install_mariadb() {
  as_root "$root/scripts/mariadb-rootfs.sh" wrappers "$bin" > /dev/null
}

install_rust_components() {
  local component
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done
}

# Builds <package> of <module>@<version> inside the downloaded module itself, so that the
# module's own go.mod (replace directives included) decides the dependency graph.
build_go_tool() {
  local name=$1 module_at_version=$2 package=$3
  local stamp="$bin/.$name.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$module_at_version $package" ]; then
    return
  fi
  log "go: building $name from $module_at_version"
  local dir
  dir=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "$module_at_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { log "go: could not download $module_at_version"; return 1; }
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$bin/$name" "$package")
  echo "$module_at_version $package" > "$stamp"
}

install_go_tools() {
  mkdir -p "$bin"
  local name module package
  while read -r name module package; do
    build_go_tool "$name" "$module" "$package"
  done < <(entries "$lists/go-tools.txt")
}

# OpenTofu providers for infra/, built from source into a filesystem mirror laid out as
# <mirror>/registry.opentofu.org/<namespace>/<type>/<version>/<os>_<arch>/terraform-provider-<type>_v<version>
# so `tofu init` can install them offline (tests point TF_CLI_CONFIG_FILE at this mirror).
install_tofu_providers() {
  local mirror="$root/.cache/tofu-providers" platform
  platform="$(go env GOOS)_$(go env GOARCH)"
  local source version module_at_version package
  while read -r source version module_at_version package; do
    local target="$mirror/registry.opentofu.org/$source/$version/$platform/terraform-provider-${source#*/}_v$version"
    [ -x "$target" ] && continue
    log "go: building OpenTofu provider $source $version from $module_at_version"
    local dir
    dir=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "$module_at_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] || { log "go: could not download $module_at_version"; return 1; }
    mkdir -p "$(dirname "$target")"
    (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$target.tmp" "$package")
    mv "$target.tmp" "$target"
  done < <(entries "$lists/tofu-providers.txt")
}

install_python_tools() {
  local stamp="$venv/.requirements.sha256"
  local want
  want=$(sha256sum "$lists/requirements.txt" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  log "pip: installing scripts/tools/requirements.txt into .venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$lists/requirements.txt"
  echo "$want" > "$stamp"
}

# Renovate (renovate-config-validator and its offline extraction, tests/suites/15-renovate.sh) and
# the Node.js its engines field asks for, both exact versions from the npm registry, installed from
# the committed package-lock.json. --ignore-scripts: Renovate's optional native regex module would
# fetch a prebuilt binary from outside the registry; without it Renovate uses JavaScript regexes.
install_npm_tools() {
  local source="$lists/renovate" out="$root/.cache/renovate"
  local stamp="$out/.package-lock.sha256" want
  want=$(sha256sum "$source/package.json" "$source/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -x "$out/node_modules/.bin/renovate-config-validator" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  log "npm: installing scripts/tools/renovate/package-lock.json into .cache/renovate"
  rm -rf "$out"
  mkdir -p "$out"
  cp "$source/package.json" "$source/package-lock.json" "$out/"
  (cd "$out" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

# Offline schemas for kubeconform (no schema download is possible here), in .cache/kubernetes-json-schema/
# as listed in scripts/tools/kubernetes-schemas.txt (that file shows the kubeconform flags to use).
# Kubernetes schemas come from kubernetes-validate (scripts/kubernetes-json-schema.py makes them
# resolve on disk), CRD schemas from the CRDs of Go modules (scripts/crd-json-schema.py).
install_kubernetes_schemas() {
  local out="$root/.cache/kubernetes-json-schema"
  local stamp="$out/.list.sha256" want
  want=$(cat "$lists/kubernetes-schemas.txt" "$venv/.requirements.sha256" "$root/scripts/crd-json-schema.py" "$root/scripts/kubernetes-json-schema.py" "$root/scripts/install-tools.sh" | sha256sum | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return
  log "schemas: writing $out"
  rm -rf "$out"
  mkdir -p "$out/crds"
  local kind what path dir
  while read -r kind what path; do
    case $kind in
      kubernetes)
        "$venv/bin/python" "$root/scripts/kubernetes-json-schema.py" "$what" "$out/v$what-strict" || return 1
        ;;
      crd)
        dir=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "$what" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
        [ -n "$dir" ] || { log "schemas: could not download $what"; return 1; }
        "$venv/bin/python" "$root/scripts/crd-json-schema.py" "$out/crds" "$dir/$path"
        ;;
      *) log "schemas: unknown entry '$kind'"; return 1 ;;
    esac
  done < <(entries "$lists/kubernetes-schemas.txt")
  echo "$want" > "$stamp"
}

install_apt_packages
install_mariadb
install_rust_components
install_go_tools
install_tofu_providers
install_python_tools
install_kubernetes_schemas
install_npm_tools
log "all tools present"
