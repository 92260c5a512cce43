# Offline: the kubectl provider is mocked and `command = plan` never runs helm. The assertions
# read the planned objects: the manifests kubectl_manifest applies (yaml_body is sensitive in the
# provider's schema, hence nonsensitive) and the releases the chart-release modules install.

mock_provider "kubectl" {}

variables {
  kubeconfig_path = "/tmp/catalog-test/kubeconfig"
  metallb_pool = {
    network_cidr = "172.18.0.0/16"
    cidr         = "172.18.255.200/29"
  }
}

run "pool_is_split_into_reserved_and_shared_ranges" {
  command = plan

  assert {
    condition = {
      for name, pool in kubectl_manifest.metallb_pool : name => yamldecode(nonsensitive(pool.yaml_body))
      } == {
      reserved = {
        apiVersion = "metallb.io/v1beta1"
        kind       = "IPAddressPool"
        metadata   = { name = "reserved", namespace = "metallb-system" }
        spec       = { addresses = ["172.18.255.200-172.18.255.201"], autoAssign = false }
      }
      shared = {
        apiVersion = "metallb.io/v1beta1"
        kind       = "IPAddressPool"
        metadata   = { name = "shared", namespace = "metallb-system" }
        spec       = { addresses = ["172.18.255.202-172.18.255.207"], autoAssign = true }
      }
    }
    error_message = "The first two addresses of the block must form the reserved pool (never auto-assigned), the rest the shared pool."
  }

  assert {
    condition     = yamldecode(nonsensitive(kubectl_manifest.l2_advertisement.yaml_body)).spec.ipAddressPools == ["reserved", "shared"]
    error_message = "The L2Advertisement must announce both pools."
  }

  assert {
    condition     = output.ingress_controller_ip == "172.18.255.200" && output.grafana_ip == "172.18.255.201"
    error_message = "The ingress controller and Grafana must get the first two addresses of the block."
  }
}

run "ingress_controller_is_a_loadbalancer_on_the_reserved_ip" {
  command = plan

  assert {
    condition = module.traefik.release.values.service == {
      type = "LoadBalancer"
      annotations = {
        "metallb.io/address-pool"    = "reserved"
        "metallb.io/loadBalancerIPs" = "172.18.255.200"
      }
    }
    error_message = "Traefik's Service must be a LoadBalancer asking MetalLB's reserved pool for the first address."
  }
}

run "namespaces_carry_pod_security_labels" {
  command = plan

  assert {
    condition = {
      for name, namespace in kubectl_manifest.namespace :
      name => yamldecode(nonsensitive(namespace.yaml_body)).metadata.labels["pod-security.kubernetes.io/enforce"]
    } == { catalog = "restricted", monitoring = "privileged", metallb-system = "privileged", traefik = "baseline" }
    error_message = "Namespaces and their enforced Pod Security levels differ from the expected set."
  }

  assert {
    condition = alltrue([
      for namespace in kubectl_manifest.namespace : [
        for mode in ["enforce", "audit", "warn"] : yamldecode(nonsensitive(namespace.yaml_body)).metadata.labels["pod-security.kubernetes.io/${mode}"]
      ] == [for mode in ["enforce", "audit", "warn"] : yamldecode(nonsensitive(namespace.yaml_body)).metadata.labels["pod-security.kubernetes.io/enforce"]]
    ])
    error_message = "Every namespace must audit and warn at the level it enforces."
  }
}

run "metrics_server_flags_follow_the_kind_switch" {
  command = plan

  variables {
    metrics_server_kubelet_insecure_tls = true
  }

  assert {
    condition     = module.metrics_server.release.values.args == tolist(["--kubelet-insecure-tls", "--kubelet-preferred-address-types=InternalIP"])
    error_message = "On kind, metrics-server must skip kubelet certificate checks and use node InternalIPs."
  }
}

run "metrics_server_verifies_kubelets_by_default" {
  command = plan

  assert {
    condition     = length(module.metrics_server.release.values.args) == 0
    error_message = "Outside kind, metrics-server must verify kubelet certificates."
  }
}

run "nfs_server_is_off_unless_asked_for" {
  command = plan

  assert {
    condition = (
      output.nfs_server == null && yamldecode(output.helmfile_values).infra.nfs == null &&
      length(kubectl_manifest.nfs_server_deployment) + length(kubectl_manifest.nfs_server_service) + length(kubectl_manifest.nfs_server_network_policy) == 0 &&
      !contains(keys(kubectl_manifest.namespace), "nfs-server")
    )
    error_message = "No NFS server may be created by default."
  }
}

run "nfs_server_runs_in_its_own_privileged_namespace" {
  command = plan

  variables {
    nfs_server_enabled = true
  }

  assert {
    condition     = output.nfs_server == { server = "nfs-server.nfs-server.svc.cluster.local", share = "/" }
    error_message = "The NFS server must be reachable through its Service name."
  }

  assert {
    condition     = yamldecode(output.helmfile_values) == { infra = { grafanaIP = output.grafana_ip, nfs = output.nfs_server } }
    error_message = "helmfile_values must hand helmfile Grafana's address and the NFS server."
  }

  assert {
    condition = (
      yamldecode(nonsensitive(kubectl_manifest.nfs_server_deployment[0].yaml_body)).metadata.namespace == "nfs-server" &&
      yamldecode(nonsensitive(kubectl_manifest.nfs_server_network_policy[0].yaml_body)).metadata.namespace == "nfs-server" &&
      yamldecode(nonsensitive(kubectl_manifest.namespace["nfs-server"].yaml_body)).metadata.labels["pod-security.kubernetes.io/enforce"] == "privileged"
    )
    error_message = "The privileged NFS server and its NetworkPolicy must live alone in their own privileged namespace."
  }
}

run "two_address_pool_has_no_shared_range" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "192.168.56.0/24"
      cidr         = "192.168.56.240/31"
    }
  }

  assert {
    condition = (
      keys(kubectl_manifest.metallb_pool) == ["reserved"] &&
      yamldecode(nonsensitive(kubectl_manifest.metallb_pool["reserved"].yaml_body)).spec.addresses == ["192.168.56.240-192.168.56.241"] &&
      yamldecode(nonsensitive(kubectl_manifest.l2_advertisement.yaml_body)).spec.ipAddressPools == ["reserved"]
    )
    error_message = "A two-address block must hold (and advertise) only the reserved pool."
  }
}

run "rejects_a_pool_outside_the_network" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "172.18.0.0/16"
      cidr         = "172.19.0.8/29"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_a_pool_wider_than_the_network" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "192.168.56.0/25"
      cidr         = "192.168.56.0/24"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_the_broadcast_address" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "192.168.56.0/24"
      cidr         = "192.168.56.248/29"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_the_network_address" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "192.168.56.0/24"
      cidr         = "192.168.56.0/30"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_a_block_not_written_from_its_first_address" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "172.18.0.0/16"
      cidr         = "172.18.255.201/29"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_a_single_address" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "172.18.0.0/16"
      cidr         = "172.18.255.200/32"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_an_ipv6_block" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr = "fd00::/8"
      cidr         = "fd01::/24"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_an_unknown_pod_security_level" {
  command = plan

  variables {
    namespaces = { catalog = "strict" }
  }

  expect_failures = [var.namespaces]
}
