variable "cluster_name" {
  description = "Name of the kind cluster."
  type        = string
  default     = "catalog"
}

variable "kubeconfig_path" {
  description = "Where kind writes the cluster's kubeconfig; ~ is expanded. Kept apart from ~/.kube/config so nothing else is touched."
  type        = string
  default     = "~/.kube/kind-catalog.yaml"
}

variable "worker_count" {
  description = "Worker nodes next to the control plane."
  type        = number
  default     = 3
}

variable "kind_network" {
  description = <<-EOT
    The docker network kind attaches its nodes to (`cidr`) and the MetalLB pool taken from its top
    (`metallb_pool_cidr`: the ingress controller gets its first address, Grafana the second).
    Check the subnet with: docker network inspect kind -f '{{(index .IPAM.Config 0).Subnet}}'
  EOT
  type = object({
    cidr              = string
    metallb_pool_cidr = string
  })
  default = {
    cidr              = "172.18.0.0/16"
    metallb_pool_cidr = "172.18.255.200/29"
  }
}
