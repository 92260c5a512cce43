# Offline: the kubectl provider is mocked and `command = plan` runs neither kind nor helm. The
# modules' own tests cover what they build; these check what this root hands them and its outputs.

mock_provider "kubectl" {}

run "local_environment_composes_kind_and_platform" {
  command = plan

  assert {
    condition     = module.cluster.kube_context == "kind-catalog" && output.kube_context == "kind-catalog"
    error_message = "The platform must target the kind cluster's context."
  }

  assert {
    condition     = output.ingress_controller_ip == "172.18.255.200" && output.grafana_ip == "172.18.255.201"
    error_message = "The ingress controller and Grafana must get the first two addresses of the kind network's MetalLB pool."
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
    error_message = "helmfile_values must hand helmfile Grafana's MetalLB address and the NFS server."
  }
}

run "a_different_docker_subnet_moves_the_addresses" {
  command = plan

  variables {
    kind_network = {
      cidr              = "172.19.0.0/16"
      metallb_pool_cidr = "172.19.255.8/29"
    }
  }

  assert {
    condition     = output.ingress_controller_ip == "172.19.255.8" && output.grafana_ip == "172.19.255.9"
    error_message = "The addresses must follow the given network."
  }
}
