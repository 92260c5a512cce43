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
    Addresses MetalLB hands to LoadBalancer Services: the CIDR block `cidr`, written from its first
    address (172.18.255.200/29, not .201/29), inside `network_cidr`, the L2 network the nodes sit
    on (the docker network "kind" on kind, the host-only network on VirtualBox). The block's first
    address goes to the ingress controller, the second is reserved for Grafana; the rest serve
    other LoadBalancer Services.
  EOT
  type = object({
    network_cidr = string
    cidr         = string
  })

  validation {
    condition = alltrue([
      for block in [var.metallb_pool.network_cidr, var.metallb_pool.cidr] :
      can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+/[0-9]+$", block)) && can(cidrhost(block, 0))
    ])
    error_message = "metallb_pool.network_cidr and metallb_pool.cidr must be IPv4 CIDR blocks such as 172.18.0.0/16."
  }

  validation {
    # cidrhost(block, 0) is the block's first address: any other address before the "/" is a typo.
    condition     = try(split("/", var.metallb_pool.cidr)[0] == cidrhost(var.metallb_pool.cidr, 0), false)
    error_message = "metallb_pool.cidr must be written from its first address, e.g. 172.18.255.200/29 (a /29 starts at a multiple of 8)."
  }

  validation {
    # Inside: at least as long a prefix, and the same network once masked to the network's prefix.
    # Usable: neither the network's own address nor its broadcast address.
    condition = try(
      tonumber(split("/", var.metallb_pool.cidr)[1]) >= tonumber(split("/", var.metallb_pool.network_cidr)[1]) &&
      cidrhost("${cidrhost(var.metallb_pool.cidr, 0)}/${split("/", var.metallb_pool.network_cidr)[1]}", 0) == cidrhost(var.metallb_pool.network_cidr, 0) &&
      cidrhost(var.metallb_pool.cidr, 0) != cidrhost(var.metallb_pool.network_cidr, 0) &&
      cidrhost(var.metallb_pool.cidr, -1) != cidrhost(var.metallb_pool.network_cidr, -1),
      false
    )
    error_message = "metallb_pool.cidr must lie inside metallb_pool.network_cidr without its network or broadcast address."
  }

  validation {
    condition     = try(tonumber(split("/", var.metallb_pool.cidr)[1]) <= 31, false)
    error_message = "metallb_pool.cidr must hold at least two addresses (ingress controller and Grafana): a /31 or wider."
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
