#!/usr/bin/env bash
# The MariaDB every test runs and the test cluster's image ships: Debian trixie's packages
# (MariaDB 11.8 LTS, mysqld-exporter 0.17), whatever Debian release the host runs.
#
#   mariadb-rootfs.sh build        build (or reuse) the root filesystem; prints its directory
#   mariadb-rootfs.sh wrappers DIR write into DIR one launcher per MariaDB program (mariadbd,
#                                  mariadb, mariadb-install-db, ...) and for
#                                  prometheus-mysqld-exporter; each runs the program from the
#                                  root filesystem through scripts/lib/in-rootfs.sh (needs root)
#
# Cache: ${CATALOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/catalog}/mariadb/
#   apt/                 apt's own state for trixie (lists refreshed when older than a day)
#   <key>/rootfs/        mmdebstrap's essential set + the packages below, at the versions the
#                        lists name; <key> hashes those versions and this script, so a warm run
#                        reuses it and a new Debian upload builds a new one
#   <key>/exporter/      the prometheus-mysqld-exporter .deb unpacked (a Go binary needing only
#                        libc, run with the root filesystem's loader), kept out of the rootfs so
#                        that the rootfs is exactly what the cluster image ships
#   <key>/debs/          the exporter and libc6 .debs (the cluster's exporter image is made of them)
#   <key>/done           marks a finished build; its mtime is the last use (unused for 7 days: removed)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$repo/scripts/mariadb-rootfs.sh"
suite=trixie
cache=${CATALOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/catalog}/mariadb
apt_dir="$cache/apt"

# What the mysql chart's scripts run beyond the essential set (bash, coreutils, sed, grep, gzip,
# findutils): the mariadb client and dump, mariadb-install-db, mariadbd, mariadb-backup and
# mbstream; procps for operators. usr-is-merged: the merged-/usr marker.
packages=(usr-is-merged procps mariadb-server mariadb-client mariadb-backup)
exporter_package=prometheus-mysqld-exporter

log() { printf '[mariadb-rootfs] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The host's Debian mirrors (deb822 or one-line sources) with the host's release names replaced by
# trixie's: trixie, trixie-updates, trixie-security from the same mirrors.
write_sources() {
  local out=$1 codename file
  # shellcheck source=/dev/null
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
  : > "$out"
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk 'BEGIN { RS = ""; ORS = "\n\n" } /URIs:[^\n]*debian/ && !/Enabled: *no/' "$file" >> "$out"
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk '$1 == "deb" && /debian/ {
      i = 2; opts = ""
      if ($2 ~ /^\[/) { while ($i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
      signed = ""; if (match(opts, /signed-by=[^] ]*/)) signed = "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10) "\n"
      comps = ""; for (j = i + 2; j <= NF; j++) comps = comps " " $j
      printf "Types: deb\nURIs: %s\nSuites: %s\nComponents:%s\n%s\n", $i, $(i + 1), comps, signed
    }' "$file" >> "$out"
  done
  grep -q '^URIs:' "$out" || die "no Debian mirror in /etc/apt/sources.list*"
  [ "$codename" = "$suite" ] || sed -i "/^Suites:/ s/\b$codename\b/$suite/g" "$out"
}

# apt-get/apt-cache with trixie's lists and an empty package database (nothing counts as installed).
trixie_apt() {
  local tool=$1; shift
  "$tool" -q -o Dir::State="$apt_dir/state" -o Dir::Cache="$apt_dir/cache" \
    -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$apt_dir/sources.list.d" \
    -o Dir::State::status="$apt_dir/status" -o APT::Sandbox::User=root \
    -o APT::Install-Recommends=false -o APT::Install-Suggests=false "$@"
}

refresh_lists() {
  mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d"
  : > "$apt_dir/status"
  write_sources "$apt_dir/sources.list.d/$suite.sources.new"
  local stamp="$apt_dir/state/updated"
  if cmp -s "$apt_dir/sources.list.d/$suite.sources.new" "$apt_dir/sources.list.d/$suite.sources" &&
     [ -n "$(find "$stamp" -mmin -1440 2> /dev/null)" ]; then
    rm "$apt_dir/sources.list.d/$suite.sources.new"
    return
  fi
  mv "$apt_dir/sources.list.d/$suite.sources.new" "$apt_dir/sources.list.d/$suite.sources"
  log "apt-get update ($suite)"
  trixie_apt apt-get update > /dev/null || die "apt-get update of $suite failed"
  touch "$stamp"
}

# Package closure with exact versions ("name=version", sorted), as apt resolves it from nothing.
resolve() {
  trixie_apt apt-get -s install "$@" 2> /dev/null | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' | sort
}

essential_packages() {
  trixie_apt apt-cache dumpavail | awk 'BEGIN { RS = "" } /\nEssential: yes/ {
    match($0, /^Package: [^\n]*/); print substr($0, 10, RLENGTH - 9) }' | sort -u
}

# memo <function> <args...>: its output, computed once per state of the lists (apt takes seconds).
memo() {
  local file
  file="$apt_dir/answers/$({ stat -c '%n %Y %s' "$apt_dir"/state/lists/*Packages*; echo "$*"; } | sha256sum | cut -c1-32)"
  if [ ! -s "$file" ]; then
    mkdir -p "$apt_dir/answers"
    "$@" > "$file.tmp"
    mv "$file.tmp" "$file"
  fi
  cat "$file"
}

resolved_pins() {
  # shellcheck disable=SC2046 # one word per package
  resolve $(memo essential_packages) "${packages[@]}"
}

# build_rootfs <dir> <pins...>: mmdebstrap's essential variant plus the pinned packages, maintainer
# scripts run (mariadb-server creates its user and directories); no docs, manuals or translations.
build_rootfs() {
  local dir=$1; shift
  local essential rest=() pin installed
  essential=$(memo essential_packages)
  for pin in "$@"; do
    grep -qxF "${pin%%=*}" <<< "$essential" || rest+=("$pin")
  done
  mmdebstrap --quiet --variant=essential --include="$(IFS=,; echo "${rest[*]}")" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "$suite" "$dir" "$apt_dir/sources.list.d/$suite.sources" >&2
  # What got installed must be what the key names (mmdebstrap reads the mirror afresh).
  installed=$(dpkg-query --admindir="$dir/var/lib/dpkg" -W -f '${Package}=${Version}\n' | sort)
  for pin in "$@"; do
    grep -qxF "$pin" <<< "$installed" ||
      die "mmdebstrap installed $(grep "^${pin%%=*}=" <<< "$installed" || echo "no ${pin%%=*}"), not $pin: the mirror moved on, run again"
  done
  rm -rf "${dir:?}"/var/cache/apt/* "${dir:?}"/var/lib/apt/lists/* "${dir:?}"/var/log/apt
  # Mount points for in-rootfs.sh's bind mounts of the host's files.
  touch "$dir/etc/hosts" "$dir/etc/resolv.conf"
  # The top-level entries the packages made; in-rootfs.sh adds mount points for the host's others,
  # which the cluster image leaves out.
  (cd "$dir" && ls -A) > "$dir.entries"
}

# unpack_exporter <dir> <debs dir> <pins...>: the exporter package's files, without its maintainer
# scripts (they add a system user and services that nothing here uses).
unpack_exporter() {
  local dir=$1 debs=$2; shift 2
  local pin
  mkdir -p "$debs"
  for pin in "$@"; do
    (cd "$debs" && trixie_apt apt-get download "$pin" > /dev/null) || die "cannot download $pin"
  done
  dpkg-deb -x "$debs/${exporter_package}_"*.deb "$dir"
}

build() {
  [ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap and chroot need it)"
  command -v mmdebstrap > /dev/null || die "mmdebstrap is missing: run scripts/install-tools.sh"
  mkdir -p "$cache"
  exec 9> "$cache/.lock"
  flock 9
  refresh_lists
  local pins exporter_pins key dir
  mapfile -t pins < <(memo resolved_pins)
  mapfile -t exporter_pins < <(memo resolve libc6 "$exporter_package")
  if [ ${#pins[@]} -eq 0 ] || [ ${#exporter_pins[@]} -eq 0 ]; then die "apt could not resolve ${packages[*]} $exporter_package in $suite"; fi
  key=$(printf '%s\n' "$suite" "${pins[@]}" "${exporter_pins[@]}" "$(sha256sum < "$self")" | sha256sum | cut -c1-16)
  dir="$cache/$key"
  if [ ! -f "$dir/done" ]; then
    log "building the $suite root filesystem $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    build_rootfs "$dir/rootfs" "${pins[@]}"
    unpack_exporter "$dir/exporter" "$dir/debs" "${exporter_pins[@]}"
    printf '%s\n' "${pins[@]}" > "$dir/packages"
    printf '%s\n' "${exporter_pins[@]}" > "$dir/exporter-packages"
  fi
  # Its last use; builds unused for a week go (other clones' launchers may still use a recent one).
  touch "$dir/done"
  find "$cache" -mindepth 2 -maxdepth 2 -name 'done' -mtime +7 -printf '%h\n' | xargs -r rm -rf
  echo "$dir"
}

# One launcher per program; each names the root filesystem it was written for.
wrappers() {
  local out=$1 dir program name
  dir=$(build)
  mkdir -p "$out"
  for program in "$dir"/rootfs/usr/bin/mariadb* "$dir"/rootfs/usr/bin/mysql* "$dir"/rootfs/usr/bin/mbstream \
      "$dir"/rootfs/usr/bin/my_print_defaults "$dir"/rootfs/usr/sbin/mariadbd "$dir"/rootfs/usr/sbin/mysqld; do
    [ -x "$program" ] || continue
    name=${program##*/}
    printf '#!/bin/sh\n# Written by scripts/mariadb-rootfs.sh: %s from Debian %s (%s).\nexec %q %q %q "$@"\n' \
      "$name" "$suite" "$dir" "$repo/scripts/lib/in-rootfs.sh" "$dir/rootfs" "${program#"$dir/rootfs"}" > "$out/$name.tmp"
    chmod +x "$out/$name.tmp"
    mv "$out/$name.tmp" "$out/$name"
  done
  # The exporter is a Go binary linked only against libc: the root filesystem's loader and libc
  # run it in place, without a chroot.
  printf '#!/bin/sh\n# Written by scripts/mariadb-rootfs.sh: %s from Debian %s (%s).\nexec %q --library-path %q %q "$@"\n' \
    "$exporter_package" "$suite" "$dir" "$dir/rootfs/usr/lib64/ld-linux-x86-64.so.2" \
    "$dir/rootfs/usr/lib/x86_64-linux-gnu" "$dir/exporter/usr/bin/$exporter_package" > "$out/$exporter_package.tmp"
  chmod +x "$out/$exporter_package.tmp"
  mv "$out/$exporter_package.tmp" "$out/$exporter_package"
  echo "$dir"
}

case ${1:-} in
  build) build ;;
  wrappers) [ $# -eq 2 ] || die "usage: $0 wrappers DIR"; wrappers "$2" ;;
  *) echo "usage: $0 build | wrappers DIR" >&2; exit 2 ;;
esac
