locals {
  # The kind cluster definition (https://kind.sigs.k8s.io/docs/user/configuration/):
  # one control plane and var.worker_count workers, all on the same pinned node image.
  kind_config = yamlencode({
    kind       = "Cluster"
    apiVersion = "kind.x-k8s.io/v1alpha4"
    name       = var.cluster_name
    nodes = concat(
      [{ role = "control-plane", image = var.node_image }],
      [for _ in range(var.worker_count) : { role = "worker", image = var.node_image }],
    )
  })
}

# The cluster is created and deleted with the kind CLI: no kind provider is pinned here, so the
# module works with any kind release that understands the v1alpha4 config. A change to the
# definition replaces the cluster (kind cannot reshape a running one).
resource "terraform_data" "cluster" {
  triggers_replace = [var.cluster_name, local.kind_config]

  input = {
    cluster_name    = var.cluster_name
    kubeconfig_path = var.kubeconfig_path
  }

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = <<-EOT
      set -eu
      config=$(mktemp)
      trap 'rm -f "$config"' EXIT
      printf '%s\n' "$KIND_CONFIG" > "$config"
      mkdir -p "$(dirname "$KUBECONFIG_PATH")"
      kind create cluster --name "$CLUSTER_NAME" --config "$config" --kubeconfig "$KUBECONFIG_PATH" --wait 5m
    EOT
    environment = {
      CLUSTER_NAME    = var.cluster_name
      KIND_CONFIG     = local.kind_config
      KUBECONFIG_PATH = var.kubeconfig_path
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/sh", "-c"]
    command     = "kind delete cluster --name \"$CLUSTER_NAME\" --kubeconfig \"$KUBECONFIG_PATH\""
    environment = {
      CLUSTER_NAME    = self.input.cluster_name
      KUBECONFIG_PATH = self.input.kubeconfig_path
    }
  }
}
