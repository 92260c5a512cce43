variable "cluster_name" {
  description = "Name of the kind cluster (also the kubeconfig context suffix: `kind-<name>`)."
  type        = string
  default     = "catalog"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must be a DNS label of at most 32 characters: lowercase letters, digits and '-'."
  }
}

variable "node_image" {
  description = "kindest/node image for every node, pinned by digest (see the kind release notes for the digest matching your kind version)."
  type        = string
  default     = "kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f"

  validation {
    condition     = can(regex("^kindest/node:v[0-9]+\\.[0-9]+\\.[0-9]+@sha256:[0-9a-f]{64}$", var.node_image))
    error_message = "node_image must be kindest/node:vX.Y.Z pinned with @sha256:<digest>, so every laptop runs the same nodes."
  }
}

variable "worker_count" {
  description = "Number of worker nodes next to the single control plane (3 mirrors the on-prem topology: one StatefulSet pod per worker)."
  type        = number
  default     = 3

  validation {
    condition     = var.worker_count >= 1 && var.worker_count <= 6 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count must be a whole number from 1 to 6."
  }
}

variable "kubeconfig_path" {
  description = "File kind writes the cluster's kubeconfig to (an absolute path keeps your ~/.kube/config untouched)."
  type        = string

  validation {
    condition     = startswith(var.kubeconfig_path, "/")
    error_message = "kubeconfig_path must be an absolute path."
  }
}
