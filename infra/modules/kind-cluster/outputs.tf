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
