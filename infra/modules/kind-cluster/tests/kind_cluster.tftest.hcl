# Runs offline: `command = plan` never calls kind, and the module needs no provider. The
# assertions read the planned terraform_data resource: its triggers carry the kind config that
# `kind create cluster` receives, so a change to it replaces the cluster.

variables {
  kubeconfig_path = "/tmp/catalog-test/kubeconfig"
}

run "defaults_give_one_control_plane_and_three_workers" {
  command = plan

  assert {
    condition = contains(terraform_data.cluster.triggers_replace, yamlencode({
      kind       = "Cluster"
      apiVersion = "kind.x-k8s.io/v1alpha4"
      name       = "catalog"
      nodes = [
        for role in ["control-plane", "worker", "worker", "worker"] : { role = role, image = var.node_image }
      ]
    }))
    error_message = "The default cluster must be one control plane and three workers, all on the pinned node image."
  }

  assert {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.node_image))
    error_message = "The default node image must be pinned by digest."
  }

  assert {
    condition     = terraform_data.cluster.input == { cluster_name = "catalog", kubeconfig_path = "/tmp/catalog-test/kubeconfig" } && output.kube_context == "kind-catalog"
    error_message = "The cluster must be named catalog, write the given kubeconfig, and its context be kind-<cluster_name>."
  }
}

run "worker_count_changes_the_topology" {
  command = plan

  variables {
    worker_count = 1
  }

  assert {
    condition = contains(terraform_data.cluster.triggers_replace, yamlencode({
      kind       = "Cluster"
      apiVersion = "kind.x-k8s.io/v1alpha4"
      name       = "catalog"
      nodes      = [for role in ["control-plane", "worker"] : { role = role, image = var.node_image }]
    }))
    error_message = "worker_count = 1 must give one control plane and one worker."
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
