terraform {
  required_version = ">= 1.7.0"

  required_providers {
    kubectl = {
      source  = "gavinbunney/kubectl"
      version = "~> 1.19"
    }
  }
}

# Referencing the cluster module's outputs makes OpenTofu configure this provider only after
# kind has created the cluster and written its kubeconfig.
provider "kubectl" {
  config_path    = module.cluster.kubeconfig_path
  config_context = module.cluster.kube_context
}
