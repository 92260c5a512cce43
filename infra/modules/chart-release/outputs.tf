output "release" {
  description = "The release this module installs: name, namespace, chart, chart_version and the values given to helm."
  # Read from the resource, so whoever reads the release waits until helm has installed it.
  value = merge(terraform_data.release.input, { values = var.values })
}
