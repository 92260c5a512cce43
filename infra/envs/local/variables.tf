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
    The docker network kind attaches its nodes to, and the MetalLB range taken from its top.
    Check the subnet with: docker network inspect kind -f '{{(index .IPAM.Config 0).Subnet}}'
  EOT
  type = object({
    cidr          = string
    first_address = string
    last_address  = string
  })
  default = {
    cidr          = "172.18.0.0/16"
    first_address = "172.18.255.200"
    last_address  = "172.18.255.250"
  }
}
