output "release" {
  description = "Name, namespace, chart and version of the installed release."
  value       = terraform_data.release.output
}

output "values_yaml" {
  description = "The values file handed to helm."
  value       = local.values_yaml
}
