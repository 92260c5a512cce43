#!/usr/bin/env bash
# Deploys the product onto the test cluster the way a user does: `helmfile -e ci sync` of this
# repository's helmfile.yaml (scripts/cluster/cluster.sh up first).
#
#   scripts/cluster/deploy.sh [extra helmfile sync arguments]
#
# Two differences from a user's run, both forced by this machine: `sync`, because `apply` needs
# the helm-diff plugin, which cannot be had here; and the umbrella chart's remote subcharts
# (kube-prometheus-stack, csi-driver-nfs; both disabled in the ci environment) are empty
# placeholders, because they cannot be downloaded (scripts/lib/offline-chart.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/cluster/lib.sh
. "$here/lib.sh"
export PATH="$cluster_root/bin:$PATH" KUBECONFIG="$KUBECONFIG_ADMIN"

deploy="$CLUSTER_STATE/deploy"
rm -rf "$deploy"
mkdir -p "$deploy/charts"
cp -R "$cluster_root/helmfile.yaml" "$cluster_root/values" "$deploy/"
"$cluster_root/scripts/lib/offline-chart.sh" "$deploy/charts" > /dev/null

refs=$("$here/images.sh" refs)
mariadb_tag=$(sed -n 's#^docker.io/catalog/mariadb:##p' <<< "$refs")
curl_tag=$(sed -n 's#^docker.io/catalog/curl:##p' <<< "$refs")
if [ -z "$mariadb_tag" ] || [ -z "$curl_tag" ]; then die "images.sh lists no mariadb or curl image"; fi

helmfile --file "$deploy/helmfile.yaml" --environment ci \
  --state-values-set "mariadbImageTag=$mariadb_tag,curlImageTag=$curl_tag" sync --skip-deps "$@"
