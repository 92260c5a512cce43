# Offline: the kubectl provider is mocked and `command = plan` runs neither kind nor helm.

mock_provider "kubectl" {}

run "local_environment_composes_kind_and_platform" {
  command = plan

  assert {
    condition     = output.node_count == 4
    error_message = "The local cluster must have 1 control plane and 3 workers."
  }

  assert {
    condition     = module.cluster.kube_context == "kind-catalog"
    error_message = "The platform must target the kind cluster's context."
  }

  assert {
    condition     = output.ingress_controller_ip == "172.18.255.200" && output.grafana_ip == "172.18.255.201"
    error_message = "The ingress controller and Grafana must get the first two addresses of the kind network's MetalLB range."
  }

  assert {
    condition     = contains(module.platform.metrics_server_args, "--kubelet-insecure-tls")
    error_message = "metrics-server must accept kind's self-signed kubelet certificates."
  }

  assert {
    condition     = module.platform.namespaces["catalog"] == "restricted"
    error_message = "The catalog namespace must enforce the restricted Pod Security Standard."
  }
}

run "helmfile_values_carry_the_metallb_addresses_and_nfs_server" {
  command = plan

  assert {
    condition = yamldecode(output.helmfile_values) == {
      infra = {
        grafanaIP = "172.18.255.201"
        nfs       = { server = "nfs-server.nfs-server.svc.cluster.local", share = "/" }
      }
    }
    error_message = "helmfile_values must hand helmfile the MetalLB addresses and the NFS server."
  }
}

run "a_different_docker_subnet_moves_the_addresses" {
  command = plan

  variables {
    kind_network = {
      cidr          = "172.19.0.0/16"
      first_address = "172.19.255.10"
      last_address  = "172.19.255.30"
    }
  }

  assert {
    condition     = output.ingress_controller_ip == "172.19.255.10" && output.grafana_ip == "172.19.255.11"
    error_message = "The addresses must follow the given network."
  }
}
