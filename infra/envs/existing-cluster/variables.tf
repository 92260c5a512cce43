variable "kubeconfig_path" {
  description = "kubeconfig of the existing cluster (kubeadm, Vagrant/VirtualBox, bare metal); ~ is expanded."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "kubeconfig context to use; null for the file's current context."
  type        = string
  default     = null
}

variable "node_network" {
  description = <<-EOT
    The L2 network the nodes share (`cidr`) and the MetalLB pool inside it (`metallb_pool_cidr`,
    outside any DHCP range: the ingress controller gets its first address, Grafana the second).
    The default is VirtualBox's first host-only network 192.168.56.0/24, below the range its DHCP
    server hands out (.101 to .254 unless changed).
  EOT
  type = object({
    cidr              = string
    metallb_pool_cidr = string
  })
  default = {
    cidr              = "192.168.56.0/24"
    metallb_pool_cidr = "192.168.56.60/30"
  }
}

variable "nfs_server_enabled" {
  description = "Run the in-cluster NFS server; leave false when the cluster has real NFS storage."
  type        = bool
  default     = false
}

variable "metrics_server_kubelet_insecure_tls" {
  description = "Skip kubelet certificate checks in metrics-server; only for kubeadm clusters without serverTLSBootstrap."
  type        = bool
  default     = false
}
