# Platform add-ons on a cluster that already exists and is reached through a kubeconfig.

module "platform" {
  source = "../../modules/platform"

  kubeconfig_path = pathexpand(var.kubeconfig_path)
  kube_context    = var.kube_context
  metallb_pool = {
    network_cidr = var.node_network.cidr
    cidr         = var.node_network.metallb_pool_cidr
  }
  metrics_server_kubelet_insecure_tls = var.metrics_server_kubelet_insecure_tls
  ingress_controller_replicas         = 2
  nfs_server_enabled                  = var.nfs_server_enabled
}
