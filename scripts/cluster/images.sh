#!/usr/bin/env bash
# Every container image the single-node test cluster needs, built without Docker: root
# filesystems from Debian packages (pinned to exact versions) and static binaries, turned into
# OCI images with umoci and written as docker-archive tars with skopeo.
#
#   images.sh build          build (or reuse) every image; prints "<ref> <tar> <size>" per image
#                            (`build <name>...` only those: write-api read-api mariadb
#                            mysqld-exporter curl pause prometheus traefik metallb-controller
#                            metallb-speaker prometheus-config-reloader)
#   images.sh import <sock> [name...]  build (those only, when named), then `ctr -n k8s.io images
#                            import` each tar into the containerd listening on <sock>, and check
#                            that every ref is listed
#   images.sh refs           print the refs only
#
# Cache: ${CATALOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/catalog}/cluster/
#   images/<name>.tar, <name>.key   an image and the hash of its inputs (binary sha256, Debian
#                                   package versions, this script); reused while the key matches
#   debs/                           downloaded .deb files
#   apt/                            apt's answers (versions, closures) per state of the apt lists
#   bin/                            pause (and the Go platform binaries, below)
# MariaDB and mysqld-exporter are made of the Debian trixie root filesystem and .debs that
# scripts/mariadb-rootfs.sh keeps (cache: ../mariadb/), the very files every test runs.
#
# Environment:
#   IMAGE_TAG         tag of catalog/write-api and catalog/read-api (default: workspace version)
#   GO_COMPONENT_DIR  static Go binaries traefik, metallb-controller, metallb-speaker,
#                     prometheus-config-reloader (default: <cache>/bin); versions from
#                     scripts/tools/cluster-components.txt
#
# Debian packages come from the mirrors apt is configured with (/etc/apt/sources.list*), at the
# versions the local apt lists name: run `apt-get update` first when a pinned version has left the
# mirror. Needs root (mmdebstrap, chroot, file ownership), umoci, skopeo, mmdebstrap, go, gcc, cargo.
# docs/images.md ("Images for the test cluster") says how these images differ from docker/Dockerfile's.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
self="$repo/scripts/cluster/images.sh"
cache_root=${CATALOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/catalog}/cluster
image_dir="$cache_root/images"
deb_dir="$cache_root/debs"
bin_dir="$cache_root/bin"
cargo_target="$cache_root/cargo-target"
component_dir=${GO_COMPONENT_DIR:-$bin_dir}
components_list="$repo/scripts/tools/cluster-components.txt"

# Every timestamp in the images (layer mtimes, config, history) is this one.
export SOURCE_DATE_EPOCH=0
created=1970-01-01T00:00:00Z

kubernetes_version=v1.34.4   # pause.c is taken from this k8s.io/kubernetes module
pause_version=3.10

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

workspace_version() {
  sed -n '/^\[workspace\.package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml"
}
api_tag=${IMAGE_TAG:-$(workspace_version)}
[ -n "$api_tag" ] || die "no workspace version in Cargo.toml and no IMAGE_TAG"

# ---------------------------------------------------------------------------------------------
# Debian packages

# apt answers depend only on the question and on the package lists: remember them per lists state.
lists_state=
apt_memo() { # apt_memo <function> <args...>: the function's output, computed once per lists state
  if [ -z "$lists_state" ]; then
    lists_state=$({ stat -c '%n %Y %s' /var/lib/apt/lists/*Packages* /etc/apt/sources.list \
      /etc/apt/sources.list.d/* 2> /dev/null || true; } | sha256sum | cut -c1-16)
  fi
  local file
  file="$cache_root/apt/$(printf '%s\n' "$lists_state" "$@" | sha256sum | cut -c1-32)"
  if [ ! -s "$file" ]; then
    mkdir -p "$cache_root/apt"
    "$@" > "$file.tmp"
    [ -s "$file.tmp" ] || { rm -f "$file.tmp"; return 1; }
    mv "$file.tmp" "$file"
  fi
  cat "$file"
}

# Package closure of the arguments with exact versions ("name=version", sorted), resolved by apt
# against the local lists as if nothing were installed. Essential packages are not added
# implicitly: name them.
resolve() { apt_memo resolve_now "$@"; }
resolve_now() {
  local empty
  empty=$(mktemp)
  apt-get -s -q -o Dir::State::status="$empty" -o APT::Install-Recommends=false \
    -o APT::Install-Suggests=false install "$@" 2>/dev/null |
    sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' | sort
  rm -f "$empty"
}

# The version apt would install of one package, without its dependencies.
candidate() { apt_memo candidate_now "$1"; }
candidate_now() {
  local version
  version=$(apt-cache policy "$1" | sed -n 's/^ *Candidate: //p')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then die "apt knows no candidate for $1 (apt-get update?)"; fi
  echo "$1=$version"
}

# deb_file name=version: path of the downloaded .deb (fetched once into $deb_dir). apt names
# the file <name>_<version>_<arch>.deb with the version's ':' written as %3a.
deb_file() {
  local name=${1%%=*} version=${1#*=}
  local pattern="${name}_${version/:/%3a}_*.deb"
  local file
  file=$(find "$deb_dir" -maxdepth 1 -name "$pattern" -print -quit 2>/dev/null)
  if [ -z "$file" ]; then
    mkdir -p "$deb_dir"
    (cd "$deb_dir" && apt-get download -q -o APT::Sandbox::User=root "$name=$version" >&2) ||
      die "cannot download $name=$version (run apt-get update?)"
    file=$(find "$deb_dir" -maxdepth 1 -name "$pattern" -print -quit)
  fi
  [ -n "$file" ] || die "no .deb for $name=$version in $deb_dir"
  echo "$file"
}

# extract_debs <rootfs> name=version...: unpacks packages without running maintainer scripts.
extract_debs() {
  local rootfs=$1; shift
  local pkg file version missing=()
  for pkg in "$@"; do
    version=${pkg#*=}
    find "$deb_dir" -maxdepth 1 -name "${pkg%%=*}_${version/:/%3a}_*.deb" 2>/dev/null | grep -q . ||
      missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then   # one apt-get call for all of them: much faster
    mkdir -p "$deb_dir"
    (cd "$deb_dir" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >&2) ||
      die "cannot download ${missing[*]} (run apt-get update?)"
  fi
  for pkg in "$@"; do
    file=$(deb_file "$pkg")
    dpkg-deb -x "$file" "$rootfs"
  done
}

# The CA bundle update-ca-certificates would write from the ca-certificates package (every
# Mozilla certificate, in name order), for images that never run maintainer scripts.
write_ca_bundle() {
  local rootfs=$1 crt
  mkdir -p "$rootfs/etc/ssl/certs"
  for crt in "$rootfs"/usr/share/ca-certificates/mozilla/*.crt; do
    cat "$crt"
    [ -z "$(tail -c 1 "$crt")" ] || echo   # a certificate without a final newline gets one
  done > "$rootfs/etc/ssl/certs/ca-certificates.crt"
  [ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] || die "empty CA bundle"
  rm -rf "${rootfs:?}/usr/share/ca-certificates" "${rootfs:?}/usr/sbin/update-ca-certificates" "${rootfs:?}/etc/ca-certificates"
}

# Documentation, manuals, translations and package-tool leftovers nobody reads in a container.
prune() {
  local rootfs=${1:?}
  rm -rf "$rootfs"/usr/share/{doc,man,info,locale,lintian,linda,bug,bash-completion,zsh} \
    "$rootfs"/var/cache/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
    "$rootfs"/var/log/apt "$rootfs"/etc/machine-id
}

# Directories left empty by prune (images without maintainer scripts or package database only).
drop_empty_dirs() { find "${1:?}" -mindepth 1 -depth -type d -empty -delete; }


# ---------------------------------------------------------------------------------------------
# Root filesystems and images

# write_accounts <rootfs> <passwd lines> <group lines>; also the nsswitch.conf distroless has
# (without one glibc asks DNS before /etc/hosts).
write_accounts() {
  mkdir -p "$1/etc"
  printf '%s\n' "$2" > "$1/etc/passwd"
  printf '%s\n' "$3" > "$1/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' \
    'networks: files' 'protocols: files' 'services: files' > "$1/etc/nsswitch.conf"
  chmod 0644 "$1/etc/passwd" "$1/etc/group" "$1/etc/nsswitch.conf"
}

# pack <rootfs> <ref> <tar> [umoci config options...]: one-layer image from <rootfs>, written as
# a docker-archive tar named <ref>. Layer entries keep the rootfs ownership and modes, with
# every mtime at $SOURCE_DATE_EPOCH.
pack() {
  local rootfs=$1 ref=$2 tar=$3; shift 3
  local work="$tar.work"
  rm -rf "$work" "$tar.tmp"
  mkdir -p "$work"
  tar --create --file "$work/layer.tar" --directory "$rootfs" --format=gnu --sort=name \
    --numeric-owner --mtime=@"$SOURCE_DATE_EPOCH" --clamp-mtime .
  umoci init --layout "$work/oci"
  umoci new --image "$work/oci:image"
  umoci raw add-layer --image "$work/oci:image" --history.created="$created" \
    --history.created_by="scripts/cluster/images.sh" "$work/layer.tar"
  umoci config --image "$work/oci:image" --no-history --created="$created" \
    --architecture=amd64 --os=linux "$@"
  skopeo copy --quiet "oci:$work/oci:image" "docker-archive:$tar.tmp:$ref"
  mv "$tar.tmp" "$tar"
  rm -rf "$work"
}

# cached <name> <ref> <inputs text> <builder function> [args...]: runs the builder (which must
# write $out, a docker-archive tar) only when the hash of the inputs and of this script differs
# from the stored one; then prints "<ref> <tar> <size>".
cached() {
  local name=$1 ref=$2 inputs=$3; shift 3
  local tar="$image_dir/$name.tar" key
  key=$(printf '%s\n%s\n%s\n' "$ref" "$inputs" "$(sha256sum < "$self")" | sha256sum | cut -d' ' -f1)
  mkdir -p "$image_dir"
  if [ -f "$tar" ] && [ "$(cat "$image_dir/$name.key" 2>/dev/null)" = "$key" ]; then
    log "$ref: cached"
  else
    log "$ref: building"
    rm -f "$image_dir/$name.key"
    local rootfs="$image_dir/$name.rootfs"
    rm -rf "$rootfs"
    mkdir -p "$rootfs"
    out=$tar "$@" "$rootfs" "$ref"
    rm -rf "$rootfs"
    printf '%s\n' "$inputs" > "$image_dir/$name.inputs"
    echo "$key" > "$image_dir/$name.key"
  fi
  echo "$ref $tar $(stat -c %s "$tar")"
}

# Minimal /etc for static-binary images: root, nobody, nonroot.
static_passwd='root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin'
static_group='root:x:0:
nobody:x:65534:
nonroot:x:65532:'

# static_rootfs <rootfs> <binary> <path in image>: a static binary, /etc/passwd and /etc/group,
# the Debian CA bundle and /tmp.
static_rootfs() {
  local rootfs=$1 binary=$2 path=$3 ca
  ca=$(candidate ca-certificates)
  extract_debs "$rootfs" "$ca"
  write_ca_bundle "$rootfs"
  prune "$rootfs"
  drop_empty_dirs "$rootfs"
  write_accounts "$rootfs" "$static_passwd" "$static_group"
  install -d -m 1777 "$rootfs/tmp"
  install -d -m 0700 "$rootfs/root"
  install -d -m 0700 -o 65532 -g 65532 "$rootfs/home/nonroot"
  install -D -m 0555 -o 0 -g 0 "$binary" "$rootfs$path"
}

# build_static <binary> <path in image> <user> <entrypoint> [extra umoci options...] <rootfs> <ref>
build_static() {
  local binary=$1 path=$2 user=$3 entrypoint=$4; shift 4
  local n=$#
  local rootfs=${*:n-1:1} ref=${*:n:1}
  local extra=("${@:1:n-2}")
  static_rootfs "$rootfs" "$binary" "$path"
  pack "$rootfs" "$ref" "$out" --config.user="$user" --config.entrypoint="$entrypoint" \
    --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "${extra[@]}"
}

# static_image <name> <ref> <binary> <path in image> <user> <entrypoint> [extra umoci options...]
static_image() {
  local name=$1 ref=$2 binary=$3; shift 3
  local inputs
  inputs="binary $(sha256sum < "$binary" | cut -d' ' -f1)
$(candidate ca-certificates)
options $*"
  cached "$name" "$ref" "$inputs" build_static "$binary" "$@"
}

# --- catalog write-api / read-api: the Dockerfile's distroless runtime, from Debian packages ---

api_binaries() {
  log "cargo build --release --locked --bin write-api --bin read-api"
  # A target directory in the cache, so a fresh clone rebuilds only the workspace's own crates.
  (cd "$repo" && cargo build --release --locked --target-dir "$cargo_target" --bin write-api --bin read-api >&2)
}

# Debian packages holding the shared libraries a binary links (ldd), plus libc6 and libgcc-s1.
linked_packages() {
  local lib
  {
    echo libc6
    echo libgcc-s1
    ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' | sort -u |
      while read -r lib; do
        dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null ||
          die "no Debian package holds $lib"
      done | cut -d: -f1 | sed 's/,.*//'
  } | sort -u
}

revision() { git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown; }
source_url() { git -C "$repo" remote get-url origin 2>/dev/null || echo unknown; }

# debian_rootfs <rootfs> <packages...>: those packages and the CA bundle, without docs or caches.
debian_rootfs() {
  local rootfs=$1; shift
  extract_debs "$rootfs" "$@" "$(candidate ca-certificates)"
  write_ca_bundle "$rootfs"
  prune "$rootfs"
}

# build_api <bin> <title> <description> <packages...> <rootfs> <ref>
build_api() {
  local bin=$1 title=$2 description=$3; shift 3
  local n=$#
  local rootfs=${*:n-1:1} ref=${*:n:1}
  debian_rootfs "$rootfs" "${@:1:n-2}"
  # Like distroless: no shell, no package database, the dynamic loader path and libraries only.
  rm -rf "${rootfs:?}"/usr/lib/x86_64-linux-gnu/gconv "${rootfs:?}"/usr/bin "${rootfs:?}"/usr/sbin \
    "${rootfs:?}"/sbin "${rootfs:?}"/usr/libexec "${rootfs:?}"/etc/ld.so.conf.d
  drop_empty_dirs "$rootfs"
  write_accounts "$rootfs" "$static_passwd" "$static_group"
  install -d -m 1777 "$rootfs/tmp"
  install -d -m 0700 "$rootfs/root"
  install -d -m 0700 -o 65532 -g 65532 "$rootfs/home/nonroot"
  install -D -m 0555 -o 0 -g 0 "$cargo_target/release/$bin" "$rootfs/usr/local/bin/$bin"
  pack "$rootfs" "$ref" "$out" \
    --config.user=65532:65532 --config.entrypoint="/usr/local/bin/$bin" \
    --config.exposedports=8080/tcp --config.exposedports=9464/tcp \
    --config.workingdir=/home/nonroot \
    --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --config.label="org.opencontainers.image.version=$api_tag" \
    --config.label="org.opencontainers.image.revision=$(revision)" \
    --config.label="org.opencontainers.image.source=$(source_url)" \
    --config.label=org.opencontainers.image.licenses=Apache-2.0 \
    --config.label=org.opencontainers.image.vendor=catalog \
    --config.label="org.opencontainers.image.title=$title" \
    --config.label="org.opencontainers.image.description=$description"
}

api_images() {
  api_binaries
  local linked packages inputs
  linked=$(linked_packages "$cargo_target/release/write-api" "$cargo_target/release/read-api")
  # shellcheck disable=SC2086 # one word per package
  mapfile -t packages < <(resolve $linked)
  [ ${#packages[@]} -gt 0 ] || die "could not resolve the runtime packages"
  local base
  base="$(printf '%s\n' "${packages[@]}")
$(candidate ca-certificates)
revision $(revision) source $(source_url)"
  inputs="binary $(sha256sum < "$cargo_target/release/write-api" | cut -d' ' -f1)
$base"
  cached write-api "docker.io/catalog/write-api:$api_tag" "$inputs" build_api write-api \
    "catalog write-api" "Product catalog write API (MariaDB primary)" "${packages[@]}"
  inputs="binary $(sha256sum < "$cargo_target/release/read-api" | cut -d' ' -f1)
$base"
  cached read-api "docker.io/catalog/read-api:$api_tag" "$inputs" build_api read-api \
    "catalog read-api" "Product catalog read API (MariaDB replicas)" "${packages[@]}"
}

# --- MariaDB and mysqld-exporter: the Debian trixie packages every test runs ---
# scripts/mariadb-rootfs.sh builds (or reuses) the root filesystem and downloads the exporter's
# .debs; these images are made of exactly those files.

mariadb_rootfs_dir() { "$repo/scripts/mariadb-rootfs.sh" build; }

debian_upstream_version() { # debian_upstream_version <name> <name=version...>: e.g. 11.8.9
  local name=$1; shift
  printf '%s\n' "$@" | sed -n "s/^$name=\([0-9]*:\)\{0,1\}\([0-9.]*\).*/\2/p"
}

# The root filesystem laid out like docker.io/library/mariadb: the mysql account as 999:999.
build_mariadb() {
  local dir=$1 rootfs=$2 ref=$3
  rmdir "$rootfs"
  cp -a "$dir/rootfs" "$rootfs"
  # Mount points in-rootfs.sh added for the host's own directories are not the image's.
  local entry
  for entry in "$rootfs"/* "$rootfs"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    grep -qxF "${entry##*/}" "$dir/rootfs.entries" || rm -rf "$entry"
  done
  prune "$rootfs"
  # Renumber the mysql account to 999:999 (the official image's ids, which the chart's
  # runAsUser/fsGroup use) and move its files along.
  local uid gid
  uid=$(awk -F: '$1 == "mysql" { print $3 }' "$rootfs/etc/passwd")
  gid=$(awk -F: '$1 == "mysql" { print $3 }' "$rootfs/etc/group")
  if [ -z "$uid" ] || [ -z "$gid" ]; then die "the packages created no mysql user"; fi
  if awk -F: -v u="$uid" '$3 == 999 && $3 != u { found = 1 } END { exit !found }' "$rootfs/etc/passwd" ||
     awk -F: -v g="$gid" '$3 == 999 && $3 != g { found = 1 } END { exit !found }' "$rootfs/etc/group"; then
    die "uid or gid 999 is taken in the MariaDB rootfs"
  fi
  sed -i "s/^mysql:\([^:]*\):$uid:$gid:/mysql:\1:999:999:/" "$rootfs/etc/passwd"
  sed -i "s/^mysql:\([^:]*\):$gid:/mysql:\1:999:/" "$rootfs/etc/group"
  find "$rootfs" -xdev -uid "$uid" -exec chown -h 999 {} +
  find "$rootfs" -xdev -gid "$gid" -exec chgrp -h 999 {} +
  # Empty datadir and socket directory, writable like the official image's (chmod 1777).
  rm -rf "${rootfs:?}"/var/lib/mysql/* "${rootfs:?}"/run/mysqld/*
  install -d -m 1777 -o 999 -g 999 "$rootfs/var/lib/mysql" "$rootfs/run/mysqld"
  local pins
  mapfile -t pins < "$dir/packages"
  pack "$rootfs" "$ref" "$out" --config.user=999:999 --config.cmd=mariadbd \
    --config.exposedports=3306/tcp --config.volume=/var/lib/mysql \
    --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.label="org.opencontainers.image.title=MariaDB from Debian trixie packages" \
    --config.label="org.opencontainers.image.version=$(debian_upstream_version mariadb-server "${pins[@]}")"
  # The package versions, for whoever wants to know what is inside.
  cp "$dir/packages" "${out%.tar}.packages"
}

mariadb_ref() {
  local pins version
  mapfile -t pins < "$1/packages"
  version=$(debian_upstream_version mariadb-server "${pins[@]}")
  [ -n "$version" ] || die "no mariadb-server in $1/packages"
  echo "docker.io/catalog/mariadb:$version-debian"
}

mariadb_image() {
  local dir
  dir=$(mariadb_rootfs_dir)
  cached mariadb "$(mariadb_ref "$dir")" "$(cat "$dir/packages")" build_mariadb "$dir"
}

# mysqld-exporter as prom/mysqld-exporter lays it out (/bin/mysqld_exporter, user nobody): Debian's
# build (a Go binary linked only against libc) with trixie's libc6, merged /usr.
build_exporter() {
  local dir=$1 rootfs=$2 ref=$3 deb link
  for link in bin lib lib64 sbin; do
    mkdir -p "$rootfs/usr/$link"
    ln -s "usr/$link" "$rootfs/$link"
  done
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
  # The package's service files (init script, systemd unit, defaults) run nothing here.
  rm -rf "$rootfs"/etc/init.d "$rootfs"/etc/default "$rootfs"/usr/lib/systemd
  ln -s prometheus-mysqld-exporter "$rootfs/usr/bin/mysqld_exporter"
  prune "$rootfs"
  drop_empty_dirs "$rootfs"
  write_accounts "$rootfs" "$static_passwd" "$static_group"
  install -d -m 1777 "$rootfs/tmp"
  pack "$rootfs" "$ref" "$out" --config.user=65534:65534 --config.entrypoint=/bin/mysqld_exporter \
    --config.exposedports=9104/tcp \
    --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.label="org.opencontainers.image.title=mysqld-exporter from Debian trixie packages" \
    --config.label="org.opencontainers.image.version=${ref##*:}"
  cp "$dir/exporter-packages" "${out%.tar}.packages"
}

exporter_ref() {
  local pins version
  mapfile -t pins < "$1/exporter-packages"
  version=$(debian_upstream_version prometheus-mysqld-exporter "${pins[@]}")
  [ -n "$version" ] || die "no prometheus-mysqld-exporter in $1/exporter-packages"
  echo "docker.io/catalog/mysqld-exporter:v$version"
}

exporter_image() {
  local dir
  dir=$(mariadb_rootfs_dir)
  cached mysqld-exporter "$(exporter_ref "$dir")" "$(cat "$dir/exporter-packages")" build_exporter "$dir"
}

# --- helm test image: POSIX sh (busybox) and curl ---

build_curl() {
  local n=$#
  local rootfs=${*:n-1:1} ref=${*:n:1}
  debian_rootfs "$rootfs" "${@:1:n-2}"
  # busybox supplies sh and the utilities roundtrip-test.sh runs (mktemp, rm, cat, basename, tr,
  # sed, tail, date, grep); curl is Debian's.
  local applet
  chroot "$rootfs" /bin/busybox --list-full | while read -r applet; do
    [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || { mkdir -p "$(dirname "$rootfs/$applet")"; ln -s /bin/busybox "$rootfs/$applet"; }
  done
  write_accounts "$rootfs" 'root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
curl_user:x:100:101:curl_user:/home/curl_user:/bin/sh' 'root:x:0:
nobody:x:65534:
curl_group:x:101:curl_user'
  install -d -m 1777 "$rootfs/tmp"
  install -d -m 0700 "$rootfs/root"
  install -d -m 0755 -o 100 -g 101 "$rootfs/home/curl_user"
  pack "$rootfs" "$ref" "$out" --config.user=100:101 --config.entrypoint=curl \
    --config.cmd=--help --config.workingdir=/home/curl_user \
    --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
}

curl_image() {
  local pins version
  mapfile -t pins < <(resolve busybox curl)
  version=$(printf '%s\n' "${pins[@]}" | sed -n 's/^curl=\([0-9]*:\)\{0,1\}\([0-9.]*\).*/\2/p')
  [ -n "$version" ] || die "no curl version"
  cached curl "docker.io/catalog/curl:$version-debian" "$(printf '%s\n' "${pins[@]}")" build_curl "${pins[@]}"
}

# --- Go module builds ---

module_dir() { # module_dir <module>@<version>: its directory in the module cache (empty: not served)
  (cd "$repo"; GOFLAGS=-mod=mod go mod download -json "$1" 2> /dev/null || true) |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

pause_binary() {
  local dir source
  dir=$(module_dir "k8s.io/kubernetes@$kubernetes_version")
  source="$dir/build/pause/linux/pause.c"
  [ -f "$source" ] || die "no build/pause/linux/pause.c in k8s.io/kubernetes@$kubernetes_version"
  local key
  key=$( { cat "$source"; gcc --version | head -n 1; echo "$pause_version"; } | sha256sum | cut -c1-16)
  local out="$bin_dir/pause-$pause_version-$key"
  if [ ! -x "$out" ]; then
    log "gcc: building pause $pause_version from k8s.io/kubernetes@$kubernetes_version"
    mkdir -p "$bin_dir"
    # As build/pause/Makefile does: static, -Os, the version compiled in.
    gcc -Os -Wall -Werror -static -DVERSION="v$pause_version-catalog" -o "$out.tmp" "$source"
    strip "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# Platform components: "<name> <module>@<version> <package> ..." lines of cluster-components.txt.
component_version() {
  [ -f "$components_list" ] || return 0
  awk -v n="$1" '$1 == n && $2 ~ /@/ { sub(/^[^@]*@/, "", $2); print $2; exit }' "$components_list"
}

# name, image, path in the image, user, entrypoint (the upstream images' layout)
components='traefik docker.io/catalog/traefik /usr/local/bin/traefik 65532:65532 /usr/local/bin/traefik
metallb-controller docker.io/catalog/metallb-controller /controller 65534:65534 /controller
metallb-speaker docker.io/catalog/metallb-speaker /speaker 0:0 /speaker
prometheus-config-reloader docker.io/catalog/prometheus-config-reloader /bin/prometheus-config-reloader 65534:65534 /bin/prometheus-config-reloader'

missing_components=()

component_images() {
  local name image path user entrypoint version
  while read -r name image path user entrypoint; do
    wanted "$name" || continue
    version=$(component_version "$name")
    if [ -z "$version" ]; then
      log "SKIP $name: no version for it in ${components_list#"$repo"/}"
      missing_components+=("$name")
      continue
    fi
    if [ ! -x "$component_dir/$name" ]; then
      log "SKIP $image:$version: no binary $component_dir/$name (GO_COMPONENT_DIR)"
      missing_components+=("$name")
      continue
    fi
    static_image "$name" "$image:$version" "$component_dir/$name" "$path" "$user" "$entrypoint"
  done <<< "$components"
}

# --- Prometheus: the static binary build.sh makes, laid out like quay.io/prometheus/prometheus ---
# (/bin/prometheus, the example /etc/prometheus/prometheus.yml of its module, the data directory
# /prometheus, both owned by nobody, user nobody). The operator runs it with its own arguments.

prometheus_tag() { # the Prometheus release of its Go module version: v0.305.1 -> v3.5.1, v0.53.4 -> v2.53.4
  local version minor
  version=$(component_version prometheus)
  [ -n "$version" ] || return 0
  version=${version#v0.}
  minor=${version%%.*}
  if [ "$minor" -ge 100 ]; then
    echo "v$((minor / 100)).$((minor % 100)).${version#*.}"
  else
    echo "v2.$minor.${version#*.}"
  fi
}

build_prometheus() {
  local binary=$1 config=$2 rootfs=$3 ref=$4
  static_rootfs "$rootfs" "$binary" /bin/prometheus
  install -D -m 0644 -o 65534 -g 65534 "$config" "$rootfs/etc/prometheus/prometheus.yml"
  chown 65534:65534 "$rootfs/etc/prometheus"
  install -d -m 0775 -o 65534 -g 65534 "$rootfs/prometheus"
  pack "$rootfs" "$ref" "$out" --config.user=65534:65534 --config.entrypoint=/bin/prometheus \
    --config.cmd=--config.file=/etc/prometheus/prometheus.yml --config.cmd=--storage.tsdb.path=/prometheus \
    --config.exposedports=9090/tcp --config.volume=/prometheus --config.workingdir=/prometheus \
    --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --config.label="org.opencontainers.image.version=${ref##*:}"
}

prometheus_image() {
  local tag binary="$component_dir/prometheus" module dir config
  tag=$(prometheus_tag)
  if [ -z "$tag" ] || [ ! -x "$binary" ]; then
    log "SKIP docker.io/catalog/prometheus: no version in ${components_list#"$repo"/} or no $binary"
    missing_components+=(prometheus)
    return 0
  fi
  module=$(awk '$1 == "prometheus" { print $2 }' "$components_list")
  dir=$(module_dir "$module")
  config="$dir/documentation/examples/prometheus.yml"
  [ -f "$config" ] || die "no documentation/examples/prometheus.yml in $module"
  cached prometheus "docker.io/catalog/prometheus:$tag" "binary $(sha256sum < "$binary" | cut -d' ' -f1)
config $(sha256sum < "$config" | cut -d' ' -f1)
$(candidate ca-certificates)" build_prometheus "$binary" "$config"
}

# ---------------------------------------------------------------------------------------------

refs() {
  echo "docker.io/catalog/write-api:$api_tag"
  echo "docker.io/catalog/read-api:$api_tag"
  local dir
  dir=$(mariadb_rootfs_dir)
  mariadb_ref "$dir"
  exporter_ref "$dir"
  echo "docker.io/catalog/curl:$(candidate curl | sed -n 's/^curl=\([0-9]*:\)\{0,1\}\([0-9.]*\).*/\2/p')-debian"
  echo "registry.k8s.io/pause:$pause_version"
  echo "docker.io/catalog/prometheus:$(prometheus_tag)"
  local name image path user entrypoint version
  while read -r name image path user entrypoint; do
    version=$(component_version "$name")
    echo "$image:${version:-<missing version>}"
  done <<< "$components"
}

build() {
  [ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap, chroot and file ownership need it)"
  local tool
  for tool in umoci skopeo mmdebstrap go gcc cargo apt-get dpkg-deb; do
    command -v "$tool" > /dev/null || die "$tool is missing (scripts/install-tools.sh)"
  done
  # One build at a time per cache (cluster.sh may import while someone builds by hand).
  mkdir -p "$cache_root"
  exec 9> "$cache_root/images.lock"
  flock 9
  only=("$@")
  if wanted write-api || wanted read-api; then api_images; fi
  if wanted mariadb; then mariadb_image; fi
  if wanted mysqld-exporter; then exporter_image; fi
  if wanted curl; then curl_image; fi
  if wanted pause; then
    local pause
    pause=$(pause_binary)
    static_image pause "registry.k8s.io/pause:$pause_version" "$pause" /pause 65535:65535 /pause
  fi
  if wanted prometheus; then prometheus_image; fi
  component_images
}

# wanted <image name>: true unless `build` was given names and this is not one of them.
only=()
wanted() {
  [ ${#only[@]} -eq 0 ] && return 0
  local name
  for name in "${only[@]}"; do [ "$name" = "$1" ] && return 0; done
  return 1
}

import() {
  local sock=${1:?usage: images.sh import <containerd socket> [name...]}
  shift
  [ -S "$sock" ] || die "$sock is not a socket"
  local list lines
  list=$(mktemp)
  build "$@" > "$list"   # not in a subshell: missing_components must reach this function
  lines=$(cat "$list")
  rm -f "$list"
  printf '%s\n' "$lines"
  [ ${#missing_components[@]} -eq 0 ] || die "missing platform images: ${missing_components[*]}"
  local ref tar size listed
  while read -r ref tar size; do
    log "importing $ref ($size bytes)"
    ctr --address "$sock" -n k8s.io images import --all-platforms "$tar" >&2
  done <<< "$lines"
  listed=$(ctr --address "$sock" -n k8s.io images ls -q)
  while read -r ref tar size; do
    grep -qxF "$ref" <<< "$listed" || die "$ref not listed by containerd after the import"
  done <<< "$lines"
  log "imported and listed: $(wc -l <<< "$lines") images"
}

case "${1:-}" in
  build) shift; build "$@" ;;
  import) shift; import "$@" ;;
  refs) refs ;;
  *) echo "usage: $0 build [name...] | import <containerd socket> [name...] | refs" >&2; exit 2 ;;
esac
