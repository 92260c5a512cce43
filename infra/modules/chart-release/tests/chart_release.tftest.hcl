variables {
  name            = "traefik"
  namespace       = "traefik"
  repository      = "https://traefik.github.io/charts"
  chart           = "traefik"
  chart_version   = "37.0.0"
  kubeconfig_path = "/tmp/kubeconfig"
  values          = { service = { type = "LoadBalancer" } }
}

run "values_reach_helm_as_yaml" {
  command = plan

  assert {
    condition     = yamldecode(output.values_yaml).service.type == "LoadBalancer"
    error_message = "The values file must carry the given values."
  }
}

run "rejects_a_version_range" {
  command = plan

  variables {
    chart_version = "~> 37.0"
  }

  expect_failures = [var.chart_version]
}

run "rejects_a_plain_http_repository" {
  command = plan

  variables {
    repository = "http://traefik.github.io/charts"
  }

  expect_failures = [var.repository]
}
