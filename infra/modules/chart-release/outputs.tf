output "release" {
  description = "The release this module installs: name, namespace, chart, version and the values given to helm."
  value = {
    name      = var.name
    namespace = var.namespace
    chart     = var.chart
    version   = var.chart_version
    values    = var.values
  }
  # Whoever reads the release waits until helm has installed it.
  depends_on = [terraform_data.release]
}
