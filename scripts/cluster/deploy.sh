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

# The test cluster's token issuer (docs/auth.md): a key pair kept with the cluster's state.
# write-api checks tokens against its public half (the Secret catalog-auth-public-key that
# values/common.yaml names), helm test sends one minted here (catalog-test-token), and the suite's
# curl and k6 sign their own with the private half ($CLUSTER_STATE/auth/private.pem).
auth="$CLUSTER_STATE/auth"
token_cli=("$cluster_root/.venv/bin/python" "$cluster_root/scripts/catalog-token.py")
[ -s "$auth/private.pem" ] || "${token_cli[@]}" keys "$auth" > /dev/null
kubectl -n catalog create secret generic catalog-auth-public-key --from-file=public.pem="$auth/public.pem" \
  --dry-run=client -o yaml | kubectl apply -f - > /dev/null
# Minted again only when the one there expires within the hour, so a second sync changes nothing.
test_token=$(kubectl -n catalog get secret catalog-test-token -o 'jsonpath={.data.token}' 2> /dev/null | base64 -d || true)
if ! "${token_cli[@]}" expires-after 3600 <<< "$test_token"; then
  test_token=$("${token_cli[@]}" mint --key "$auth/private.pem" --issuer catalog-local --audience catalog \
    --subject helm-test --ttl 86400)
  kubectl -n catalog create secret generic catalog-test-token --from-literal=token="$test_token" \
    --dry-run=client -o yaml | kubectl apply -f - > /dev/null
fi

refs=$("$here/images.sh" refs)
mariadb_tag=$(sed -n 's#^docker.io/catalog/mariadb:##p' <<< "$refs")
exporter_tag=$(sed -n 's#^docker.io/catalog/mysqld-exporter:##p' <<< "$refs")
curl_tag=$(sed -n 's#^docker.io/catalog/curl:##p' <<< "$refs")
if [ -z "$mariadb_tag" ] || [ -z "$exporter_tag" ] || [ -z "$curl_tag" ]; then
  die "images.sh lists no mariadb, mysqld-exporter or curl image"
fi

helmfile --file "$deploy/helmfile.yaml" --environment ci \
  --state-values-set "mariadbImageTag=$mariadb_tag,exporterImageTag=$exporter_tag,curlImageTag=$curl_tag" sync --skip-deps "$@"
