output "ingress_controller_ip" {
  description = "MetalLB address of the ingress controller's LoadBalancer Service (point the catalog host at it)."
  value       = local.ingress_ip
}

output "grafana_ip" {
  description = "MetalLB address reserved for Grafana's LoadBalancer Service (helmfile passes it to kube-prometheus-stack)."
  value       = local.grafana_ip
}

output "metallb_pools" {
  description = "MetalLB IPAddressPools by name, as address ranges."
  value       = local.metallb_pools
}

output "metallb_auto_assign" {
  description = "Whether MetalLB hands out each pool's addresses to Services that do not ask for one."
  value       = { for name, pool in local.metallb_pool_manifests : name => pool.spec.autoAssign }
}

output "metallb_advertised_pools" {
  description = "Pools the L2Advertisement announces."
  value       = local.l2_advertisement_manifest.spec.ipAddressPools
}

output "namespaces" {
  description = "Namespaces created, with their enforced Pod Security level."
  value       = local.namespaces
}

output "namespace_labels" {
  description = "Labels of each namespace created (Pod Security enforce, audit and warn)."
  value       = { for name, manifest in local.namespace_manifests : name => manifest.metadata.labels }
}

output "ingress_controller_service" {
  description = "Service settings handed to the Traefik chart."
  value       = yamldecode(module.traefik.values_yaml).service
}

output "metrics_server_args" {
  description = "Extra metrics-server flags."
  value       = yamldecode(module.metrics_server.values_yaml).args
}

output "nfs_server" {
  description = "NFS server and share for the NFS CSI driver's StorageClass, or null when nfs_server_enabled is false."
  value = var.nfs_server_enabled ? {
    server = "${yamldecode(file("${path.module}/manifests/nfs-server-service.yaml")).metadata.name}.nfs-server.svc.cluster.local"
    share  = "/"
  } : null
}

output "nfs_server_namespace" {
  description = "Namespace of the NFS server's Deployment (null when disabled)."
  value       = var.nfs_server_enabled ? yamldecode(file("${path.module}/manifests/nfs-server-deployment.yaml")).metadata.namespace : null
}
