output "cluster_name" {
  description = "Name of the kind cluster."
  value       = terraform_data.cluster.output.cluster_name
}

output "kube_context" {
  description = "kubeconfig context kind creates for the cluster."
  value       = "kind-${var.cluster_name}"
}

output "kubeconfig_path" {
  description = "kubeconfig file of the cluster (available once the cluster exists)."
  value       = terraform_data.cluster.output.kubeconfig_path
}

output "node_count" {
  description = "Number of nodes: one control plane plus the workers."
  value       = length(yamldecode(local.kind_config).nodes)
}

output "kind_config" {
  description = "The kind cluster definition passed to `kind create cluster --config`."
  value       = local.kind_config
}
