variable "kubeconfig_path" {
  description = "kubeconfig file the helm CLI uses for the chart releases (configure the kubectl provider with the same cluster)."
  type        = string
}

variable "kube_context" {
  description = "kubeconfig context for the chart releases; null for the file's current context."
  type        = string
  default     = null
}

variable "metallb_pool" {
  description = <<-EOT
    Addresses MetalLB hands to LoadBalancer Services: a range [first_address, last_address] inside
    network_cidr, the L2 network the nodes sit on (the docker network "kind" on kind, the
    host-only network on VirtualBox). The first address goes to the ingress controller, the
    second is reserved for Grafana; the rest serve other LoadBalancer Services.
  EOT
  type = object({
    network_cidr  = string
    first_address = string
    last_address  = string
  })

  validation {
    condition     = can(cidrhost(var.metallb_pool.network_cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", var.metallb_pool.network_cidr))
    error_message = "metallb_pool.network_cidr must be an IPv4 CIDR such as 172.18.0.0/16."
  }

  validation {
    condition = alltrue([
      for address in [var.metallb_pool.first_address, var.metallb_pool.last_address] :
      can(regex("^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$", address))
    ])
    error_message = "metallb_pool.first_address and last_address must be IPv4 addresses."
  }

  validation {
    # IPv4 addresses compared as integers: a.b.c.d = ((a*256+b)*256+c)*256+d.
    condition = try(
      alltrue([
        for address in [var.metallb_pool.first_address, var.metallb_pool.last_address] :
        sum([for i, octet in split(".", address) : tonumber(octet) * pow(256, 3 - i)]) >= sum([for i, octet in split(".", cidrhost(var.metallb_pool.network_cidr, 0)) : tonumber(octet) * pow(256, 3 - i)]) + 1 &&
        sum([for i, octet in split(".", address) : tonumber(octet) * pow(256, 3 - i)]) <= sum([for i, octet in split(".", cidrhost(var.metallb_pool.network_cidr, -1)) : tonumber(octet) * pow(256, 3 - i)]) - 1
      ]),
      false
    )
    error_message = "metallb_pool.first_address and last_address must be usable hosts inside metallb_pool.network_cidr (not its network or broadcast address)."
  }

  validation {
    condition = try(
      sum([for i, octet in split(".", var.metallb_pool.last_address) : tonumber(octet) * pow(256, 3 - i)]) - sum([for i, octet in split(".", var.metallb_pool.first_address) : tonumber(octet) * pow(256, 3 - i)]) >= 1,
      false
    )
    error_message = "metallb_pool must hold at least two addresses (ingress controller and Grafana), with first_address before last_address."
  }
}

variable "namespaces" {
  description = <<-EOT
    Namespaces to create, each with its Pod Security Standard level (enforced, audited and warned):
    "restricted" for the application, "privileged" only where a component needs host access
    (MetalLB's speaker, Prometheus node-exporter, the NFS server).
  EOT
  type        = map(string)
  default = {
    catalog    = "restricted"
    monitoring = "privileged"
  }

  validation {
    condition     = alltrue([for level in values(var.namespaces) : contains(["restricted", "baseline", "privileged"], level)])
    error_message = "Each namespace's Pod Security level must be restricted, baseline or privileged."
  }

  validation {
    condition     = alltrue([for name in keys(var.namespaces) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", name))])
    error_message = "Namespace names must be DNS labels."
  }
}

variable "metrics_server_kubelet_insecure_tls" {
  description = "Skip verifying kubelet serving certificates; true on kind, whose kubelets serve self-signed certificates."
  type        = bool
  default     = false
}

variable "ingress_controller_replicas" {
  description = "Traefik replicas (2 or more keeps ingress up while a node drains)."
  type        = number
  default     = 2

  validation {
    condition     = var.ingress_controller_replicas >= 1 && floor(var.ingress_controller_replicas) == var.ingress_controller_replicas
    error_message = "ingress_controller_replicas must be a whole number of at least 1."
  }
}

variable "nfs_server_enabled" {
  description = "Run an in-cluster NFS server (namespace nfs-server) for the NFS CSI driver; for local clusters without real NFS storage."
  type        = bool
  default     = false
}

variable "chart_versions" {
  description = "Pinned versions of the platform charts."
  type = object({
    metallb        = string
    traefik        = string
    metrics_server = string
  })
  default = {
    metallb        = "0.15.2"
    traefik        = "37.1.1"
    metrics_server = "3.13.0"
  }
}

variable "nfs_server_image" {
  description = "NFS server image, pinned (the Kubernetes e2e volume-nfs image exports /exports)."
  type        = string
  default     = "registry.k8s.io/volume-nfs:0.8"

  validation {
    condition     = !endswith(var.nfs_server_image, ":latest") && can(regex(":[A-Za-z0-9._-]+$|@sha256:[0-9a-f]{64}$", var.nfs_server_image))
    error_message = "nfs_server_image must be pinned to a tag other than latest or to a digest."
  }
}
