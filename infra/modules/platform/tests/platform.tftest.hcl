# Offline: the kubectl provider is mocked and `command = plan` never runs helm.

mock_provider "kubectl" {}

variables {
  kubeconfig_path = "/tmp/catalog-test/kubeconfig"
  metallb_pool = {
    network_cidr  = "172.18.0.0/16"
    first_address = "172.18.255.200"
    last_address  = "172.18.255.250"
  }
}

run "pool_is_split_into_reserved_and_shared_ranges" {
  command = plan

  assert {
    condition     = output.ingress_controller_ip == "172.18.255.200" && output.grafana_ip == "172.18.255.201"
    error_message = "The first two pool addresses must go to the ingress controller and Grafana."
  }

  assert {
    condition     = output.metallb_pools == { reserved = "172.18.255.200-172.18.255.201", shared = "172.18.255.202-172.18.255.250" }
    error_message = "MetalLB pools must cover exactly the given range."
  }

  assert {
    condition     = output.metallb_auto_assign == { reserved = false, shared = true }
    error_message = "Only the shared pool may auto-assign its addresses."
  }

  assert {
    condition     = output.metallb_advertised_pools == ["reserved", "shared"]
    error_message = "The L2Advertisement must announce both pools."
  }

  assert {
    condition     = length(kubectl_manifest.metallb_pool) == 2
    error_message = "Two IPAddressPools must be created."
  }
}

run "ingress_controller_is_a_loadbalancer_on_the_reserved_ip" {
  command = plan

  assert {
    condition     = output.ingress_controller_service.type == "LoadBalancer"
    error_message = "The ingress controller Service must be of type LoadBalancer."
  }

  assert {
    condition     = output.ingress_controller_service.annotations["metallb.io/loadBalancerIPs"] == "172.18.255.200"
    error_message = "The ingress controller must ask MetalLB for the first pool address."
  }
}

run "namespaces_carry_pod_security_labels" {
  command = plan

  assert {
    condition     = output.namespaces == { catalog = "restricted", monitoring = "privileged", metallb-system = "privileged", traefik = "baseline" }
    error_message = "Namespaces and their Pod Security levels differ from the expected set."
  }

  assert {
    condition = alltrue([
      for name, level in output.namespaces : alltrue([
        for mode in ["enforce", "audit", "warn"] : output.namespace_labels[name]["pod-security.kubernetes.io/${mode}"] == level
      ])
    ])
    error_message = "Every namespace must enforce, audit and warn at its Pod Security level."
  }

  assert {
    condition     = output.namespace_labels["catalog"]["pod-security.kubernetes.io/enforce"] == "restricted"
    error_message = "The application namespace must enforce the restricted Pod Security Standard."
  }

  assert {
    condition     = length(kubectl_manifest.namespace) == 4
    error_message = "One Namespace object per namespace."
  }
}

run "metrics_server_flags_follow_the_kind_switch" {
  command = plan

  variables {
    metrics_server_kubelet_insecure_tls = true
  }

  assert {
    condition     = contains(output.metrics_server_args, "--kubelet-insecure-tls") && contains(output.metrics_server_args, "--kubelet-preferred-address-types=InternalIP")
    error_message = "On kind, metrics-server must skip kubelet certificate checks and use node InternalIPs."
  }
}

run "metrics_server_verifies_kubelets_by_default" {
  command = plan

  assert {
    condition     = length(output.metrics_server_args) == 0
    error_message = "Outside kind, metrics-server must verify kubelet certificates."
  }
}

run "nfs_server_is_off_unless_asked_for" {
  command = plan

  assert {
    condition     = output.nfs_server == null && length(kubectl_manifest.nfs_server_deployment) == 0 && !contains(keys(output.namespaces), "nfs-server")
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
    condition     = output.namespaces["nfs-server"] == "privileged" && output.nfs_server_namespace == "nfs-server" && length(kubectl_manifest.nfs_server_network_policy) == 1
    error_message = "The privileged NFS server must run alone in its own privileged namespace."
  }
}

run "two_address_pool_has_no_shared_range" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr  = "192.168.56.0/24"
      first_address = "192.168.56.240"
      last_address  = "192.168.56.241"
    }
  }

  assert {
    condition     = output.metallb_pools == { reserved = "192.168.56.240-192.168.56.241" } && output.metallb_advertised_pools == ["reserved"]
    error_message = "A two-address pool must hold (and advertise) only the reserved range."
  }
}

run "rejects_a_pool_outside_the_network" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr  = "172.18.0.0/16"
      first_address = "172.19.0.10"
      last_address  = "172.19.0.20"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_the_broadcast_address" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr  = "192.168.56.0/24"
      first_address = "192.168.56.250"
      last_address  = "192.168.56.255"
    }
  }

  expect_failures = [var.metallb_pool]
}

run "rejects_a_reversed_range" {
  command = plan

  variables {
    metallb_pool = {
      network_cidr  = "172.18.0.0/16"
      first_address = "172.18.255.250"
      last_address  = "172.18.255.200"
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
