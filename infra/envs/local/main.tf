# The local environment: a kind cluster (1 control plane + workers) and the platform add-ons,
# with an in-cluster NFS server standing in for real NFS storage.

module "cluster" {
  source = "../../modules/kind-cluster"

  cluster_name    = var.cluster_name
  worker_count    = var.worker_count
  kubeconfig_path = pathexpand(var.kubeconfig_path)
}

module "platform" {
  source = "../../modules/platform"

  kubeconfig_path = module.cluster.kubeconfig_path
  kube_context    = module.cluster.kube_context
  metallb_pool = {
    network_cidr = var.kind_network.cidr
    cidr         = var.kind_network.metallb_pool_cidr
  }
  namespaces = {
    catalog    = "restricted"
    monitoring = "privileged" # node-exporter reads the host's /proc and /sys
  }
  metrics_server_kubelet_insecure_tls = true # kind's kubelets serve self-signed certificates
  ingress_controller_replicas         = 1
  nfs_server_enabled                  = true
}
