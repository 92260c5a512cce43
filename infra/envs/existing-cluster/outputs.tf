output "ingress_controller_ip" {
  description = "MetalLB address of the ingress controller."
  value       = module.platform.ingress_controller_ip
}

output "grafana_ip" {
  description = "MetalLB address reserved for Grafana."
  value       = module.platform.grafana_ip
}

output "helmfile_values" {
  description = "State values for helmfile (written to .state/infra/<env>.yaml, see docs/quickstart-cluster.md)."
  value       = module.platform.helmfile_values
}
