mock_provider "kubectl" {}

run "virtualbox_host_only_defaults" {
  command = plan

  assert {
    condition     = output.ingress_controller_ip == "192.168.56.60" && output.grafana_ip == "192.168.56.61"
    error_message = "The ingress controller and Grafana must get the first two addresses of the host-only range."
  }

  assert {
    condition     = yamldecode(output.helmfile_values).infra.nfs == null
    error_message = "No in-cluster NFS server by default on an existing cluster."
  }

  assert {
    condition     = length(module.platform.metrics_server_args) == 0
    error_message = "metrics-server must verify kubelet certificates by default."
  }

  assert {
    condition     = module.platform.ingress_controller_service.type == "LoadBalancer"
    error_message = "The ingress controller must be exposed through MetalLB."
  }
}

run "nfs_server_can_be_turned_on" {
  command = plan

  variables {
    nfs_server_enabled = true
  }

  assert {
    condition     = yamldecode(output.helmfile_values).infra.nfs.server == "nfs-server.nfs-server.svc.cluster.local"
    error_message = "helmfile_values must carry the NFS server when it is enabled."
  }
}
