# Offline: the kubectl provider is mocked and `command = plan` never runs helm. The modules' own
# tests cover what they build; these check what this root hands them and its outputs.

mock_provider "kubectl" {}

run "virtualbox_host_only_defaults" {
  command = plan

  assert {
    condition     = output.ingress_controller_ip == "192.168.56.60" && output.grafana_ip == "192.168.56.61"
    error_message = "The ingress controller and Grafana must get the first two addresses of the host-only pool."
  }

  assert {
    condition     = yamldecode(output.helmfile_values) == { infra = { grafanaIP = "192.168.56.61", nfs = null } }
    error_message = "No in-cluster NFS server by default on an existing cluster."
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
