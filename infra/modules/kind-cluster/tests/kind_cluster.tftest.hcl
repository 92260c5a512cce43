# Runs offline: `command = plan` never calls kind, and the module needs no provider.

variables {
  kubeconfig_path = "/tmp/catalog-test/kubeconfig"
}

run "defaults_give_one_control_plane_and_three_workers" {
  command = plan

  assert {
    condition     = output.node_count == 4
    error_message = "The default topology must be 1 control plane + 3 workers."
  }

  assert {
    condition     = [for node in yamldecode(output.kind_config).nodes : node.role] == ["control-plane", "worker", "worker", "worker"]
    error_message = "Node roles must be one control-plane followed by workers."
  }

  assert {
    condition     = alltrue([for node in yamldecode(output.kind_config).nodes : node.image == var.node_image])
    error_message = "Every node must run the pinned node image."
  }

  assert {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.node_image))
    error_message = "The default node image must be pinned by digest."
  }

  assert {
    condition     = output.kube_context == "kind-catalog"
    error_message = "The kubeconfig context must be kind-<cluster_name>."
  }
}

run "worker_count_changes_the_topology" {
  command = plan

  variables {
    worker_count = 1
  }

  assert {
    condition     = output.node_count == 2
    error_message = "worker_count = 1 must give 2 nodes."
  }
}

run "rejects_a_tag_without_digest" {
  command = plan

  variables {
    node_image = "kindest/node:v1.33.1"
  }

  expect_failures = [var.node_image]
}

run "rejects_zero_workers" {
  command = plan

  variables {
    worker_count = 0
  }

  expect_failures = [var.worker_count]
}

run "rejects_a_relative_kubeconfig_path" {
  command = plan

  variables {
    kubeconfig_path = "kubeconfig"
  }

  expect_failures = [var.kubeconfig_path]
}

run "rejects_an_invalid_cluster_name" {
  command = plan

  variables {
    cluster_name = "Catalog_Cluster"
  }

  expect_failures = [var.cluster_name]
}
