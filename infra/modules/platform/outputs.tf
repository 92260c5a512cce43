output "ingress_controller_ip" {
  description = "MetalLB address of the ingress controller's LoadBalancer Service: the first address of `metallb_pool.cidr` (point the catalog host at it)."
  value       = local.ingress_ip
}

output "grafana_ip" {
  description = "MetalLB address reserved for Grafana's LoadBalancer Service: the second address of `metallb_pool.cidr`."
  value       = local.grafana_ip
}

output "nfs_server" {
  description = "NFS server and share for the NFS CSI driver's StorageClass, or null when `nfs_server_enabled` is false."
  value       = local.nfs_server
}

output "helmfile_values" {
  description = "The addresses helmfile needs (Grafana's, the NFS server), as the YAML that `values/infra-outputs.yaml.gotmpl` reads from `.state/infra/<environment>.yaml`."
  value = yamlencode({
    infra = {
      grafanaIP = local.grafana_ip
      nfs       = local.nfs_server
    }
  })
}
