# Offline: `command = plan` never runs helm. The assertions read the planned terraform_data
# resource, whose triggers are everything that reaches `helm upgrade --install`.

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
    condition     = contains(terraform_data.release.triggers_replace, yamlencode({ service = { type = "LoadBalancer" } }))
    error_message = "The values file given to helm must carry the given values."
  }

  assert {
    condition     = terraform_data.release.input == { name = "traefik", namespace = "traefik", chart = "traefik", chart_version = "37.0.0" }
    error_message = "The release must record its name, namespace, chart and version."
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
