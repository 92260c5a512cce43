locals {
  ingress_ip = cidrhost(var.metallb_pool.cidr, 0)
  grafana_ip = cidrhost(var.metallb_pool.cidr, 1)
  # A /31 holds only those two: then there is no shared pool.
  pool_has_shared_addresses = tonumber(split("/", var.metallb_pool.cidr)[1]) < 31

  # Platform namespaces first; var.namespaces may add more (or tighten these).
  namespaces = merge(
    {
      metallb-system = "privileged" # speaker: host network and NET_RAW for ARP
      traefik        = "baseline"
    },
    var.nfs_server_enabled ? { nfs-server = "privileged" } : {},
    var.namespaces,
  )

  pod_security_modes = ["enforce", "audit", "warn"]
  namespace_manifests = {
    for name, level in local.namespaces : name => {
      apiVersion = "v1"
      kind       = "Namespace"
      metadata = {
        name = name
        labels = merge(
          { for mode in local.pod_security_modes : "pod-security.kubernetes.io/${mode}" => level },
          { "pod-security.kubernetes.io/enforce-version" = "latest" },
        )
      }
    }
  }

  # MetalLB: the first two addresses are reserved (no auto-assignment) for the ingress controller
  # and Grafana, which ask for them by annotation; the rest are handed out on demand.
  metallb_pools = merge(
    { reserved = "${local.ingress_ip}-${local.grafana_ip}" },
    local.pool_has_shared_addresses ? { shared = "${cidrhost(var.metallb_pool.cidr, 2)}-${cidrhost(var.metallb_pool.cidr, -1)}" } : {},
  )
  metallb_pool_manifests = {
    for name, range in local.metallb_pools : name => {
      apiVersion = "metallb.io/v1beta1"
      kind       = "IPAddressPool"
      metadata   = { name = name, namespace = "metallb-system" }
      spec       = { addresses = [range], autoAssign = name != "reserved" }
    }
  }
  l2_advertisement_manifest = {
    apiVersion = "metallb.io/v1beta1"
    kind       = "L2Advertisement"
    metadata   = { name = "all-pools", namespace = "metallb-system" }
    spec       = { ipAddressPools = keys(local.metallb_pools) }
  }

  traefik_values = {
    deployment          = { replicas = var.ingress_controller_replicas }
    podDisruptionBudget = { enabled = var.ingress_controller_replicas > 1, maxUnavailable = 1 }
    ingressClass        = { enabled = true, isDefaultClass = true, name = "traefik" }
    # Drop idle upstream connections before the APIs do (server.header_read_timeout_ms, 10 s,
    # also ends idle keep-alive connections), so no request is sent on a closing one.
    additionalArguments = ["--serverstransport.forwardingtimeouts.idleconntimeout=5s"]
    providers = {
      kubernetesIngress = { publishedService = { enabled = true } }
    }
    service = {
      type = "LoadBalancer"
      annotations = {
        "metallb.io/address-pool"    = "reserved"
        "metallb.io/loadBalancerIPs" = local.ingress_ip
      }
    }
  }

  # The NFS CSI driver reaches the server through its Service name.
  nfs_server = var.nfs_server_enabled ? {
    server = "${yamldecode(file("${path.module}/manifests/nfs-server-service.yaml")).metadata.name}.nfs-server.svc.cluster.local"
    share  = "/"
  } : null

  metrics_server_args = var.metrics_server_kubelet_insecure_tls ? ["--kubelet-insecure-tls", "--kubelet-preferred-address-types=InternalIP"] : []
}

resource "kubectl_manifest" "namespace" {
  for_each = local.namespace_manifests

  yaml_body = yamlencode(each.value)
}

module "metallb" {
  source = "../chart-release"

  name            = "metallb"
  namespace       = "metallb-system"
  repository      = "https://metallb.github.io/metallb"
  chart           = "metallb"
  chart_version   = var.chart_versions.metallb
  kubeconfig_path = var.kubeconfig_path
  kube_context    = var.kube_context
  values = {
    # Plain L2 mode: no BGP, so no FRR sidecars.
    speaker = { frr = { enabled = false } }
  }

  depends_on = [kubectl_manifest.namespace]
}

# Created after the MetalLB release (its CRDs and webhook exist by then: helm --wait).
resource "kubectl_manifest" "metallb_pool" {
  for_each = local.metallb_pool_manifests

  yaml_body = yamlencode(each.value)

  depends_on = [module.metallb]
}

resource "kubectl_manifest" "l2_advertisement" {
  yaml_body = yamlencode(local.l2_advertisement_manifest)

  depends_on = [kubectl_manifest.metallb_pool]
}

module "traefik" {
  source = "../chart-release"

  name            = "traefik"
  namespace       = "traefik"
  repository      = "https://traefik.github.io/charts"
  chart           = "traefik"
  chart_version   = var.chart_versions.traefik
  kubeconfig_path = var.kubeconfig_path
  kube_context    = var.kube_context
  values          = local.traefik_values

  depends_on = [kubectl_manifest.l2_advertisement]
}

module "metrics_server" {
  source = "../chart-release"

  name            = "metrics-server"
  namespace       = "kube-system"
  repository      = "https://kubernetes-sigs.github.io/metrics-server"
  chart           = "metrics-server"
  chart_version   = var.chart_versions.metrics_server
  kubeconfig_path = var.kubeconfig_path
  kube_context    = var.kube_context
  values          = { args = local.metrics_server_args }
}
