output "kubeconfig_path" {
  description = "kubeconfig of the kind cluster: export KUBECONFIG=$(tofu -chdir=infra/envs/local output -raw kubeconfig_path)"
  value       = module.cluster.kubeconfig_path
}

output "kube_context" {
  description = "kubeconfig context of the kind cluster."
  value       = module.cluster.kube_context
}

output "ingress_controller_ip" {
  description = "MetalLB address of the ingress controller."
  value       = module.platform.ingress_controller_ip
}

output "grafana_ip" {
  description = "MetalLB address reserved for Grafana."
  value       = module.platform.grafana_ip
}

output "helmfile_values" {
  description = "State values for `helmfile -e local` (written to .state/infra/local.yaml, see docs/quickstart-cluster.md)."
  value       = module.platform.helmfile_values
}
