locals {
  values_yaml = yamlencode(var.values)
}

# Installs or upgrades the release with the helm CLI (helm 3.x or 4.x on PATH). Any change to
# the chart, its version or its values replaces this resource, which re-runs
# `helm upgrade --install`: an in-place upgrade, never an uninstall. `tofu destroy` leaves the
# release in place (delete the cluster, or `helm uninstall` it).
resource "terraform_data" "release" {
  triggers_replace = [var.name, var.namespace, var.repository, var.chart, var.chart_version, local.values_yaml, var.kube_context]

  input = {
    name          = var.name
    namespace     = var.namespace
    chart         = var.chart
    chart_version = var.chart_version
  }

  lifecycle {
    create_before_destroy = true
  }

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    # Everything reaches the shell through the environment, never interpolated into the script.
    command = <<-EOT
      set -eu
      values=$(mktemp)
      trap 'rm -f "$values"' EXIT
      printf '%s\n' "$RELEASE_VALUES" > "$values"
      helm upgrade --install "$RELEASE_NAME" "$RELEASE_CHART" \
        --repo "$RELEASE_REPOSITORY" --version "$RELEASE_VERSION" \
        --namespace "$RELEASE_NAMESPACE" --values "$values" \
        --kubeconfig "$KUBECONFIG_PATH" $${KUBE_CONTEXT:+--kube-context "$KUBE_CONTEXT"} \
        --wait --timeout "$RELEASE_TIMEOUT"
    EOT
    environment = {
      RELEASE_NAME       = var.name
      RELEASE_NAMESPACE  = var.namespace
      RELEASE_REPOSITORY = var.repository
      RELEASE_CHART      = var.chart
      RELEASE_VERSION    = var.chart_version
      RELEASE_VALUES     = local.values_yaml
      RELEASE_TIMEOUT    = var.timeout
      KUBECONFIG_PATH    = var.kubeconfig_path
      KUBE_CONTEXT       = var.kube_context == null ? "" : var.kube_context
    }
  }
}
