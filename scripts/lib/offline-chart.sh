#!/usr/bin/env bash
# Prepares a copy of the umbrella chart that helm can lint, render and unit-test without network:
#
#   scripts/lib/offline-chart.sh <dest>   ->  <dest>/catalog (render this), <dest>/mysql
#
# helm 4 refuses to render a chart whose Chart.yaml dependencies are missing from charts/, even
# when their condition disables them, and `helm dependency build` must download the remote ones.
# So the copy gets our mysql chart unpacked in charts/ (what `helm dependency build` would package
# from file://../mysql) and, for each remote dependency, an empty placeholder chart of the pinned
# name and version. The placeholders render nothing: tests keep those subcharts disabled and
# assert our side of their values contract instead.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${1:?usage: offline-chart.sh <dest dir>}

[ -f "$root/charts/mysql/Chart.yaml" ] || { echo "offline-chart: charts/mysql is missing" >&2; exit 1; }

mkdir -p "$dest"
rm -rf "$dest/catalog" "$dest/mysql"
cp -R "$root/charts/catalog" "$root/charts/mysql" "$dest/"
rm -rf "$dest/catalog/charts"
mkdir -p "$dest/catalog/charts"
cp -R "$root/charts/mysql" "$dest/catalog/charts/mysql"

python3 "$here/chart_dependencies.py" "$dest/catalog/Chart.yaml" | while read -r name version repository; do
  case $repository in
    file://*) continue ;;
  esac
  mkdir -p "$dest/catalog/charts/$name"
  cat > "$dest/catalog/charts/$name/Chart.yaml" <<YAML
apiVersion: v2
name: $name
version: $version
description: Offline placeholder for $repository ($name $version); renders nothing.
YAML
done
