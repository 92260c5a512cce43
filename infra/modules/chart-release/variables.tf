variable "name" {
  description = "Helm release name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$", var.name))
    error_message = "name must be a Helm release name: lowercase letters, digits and '-', at most 53 characters."
  }
}

variable "namespace" {
  description = "Namespace of the release. It must already exist (the platform module creates it with its Pod Security labels)."
  type        = string
}

variable "repository" {
  description = "URL of the chart repository."
  type        = string

  validation {
    condition     = startswith(var.repository, "https://")
    error_message = "repository must be an https:// URL."
  }
}

variable "chart" {
  description = "Chart name inside the repository."
  type        = string
}

variable "chart_version" {
  description = "Exact chart version (no ranges: the same inputs always install the same chart)."
  type        = string

  validation {
    condition     = can(regex("^v?[0-9]+\\.[0-9]+\\.[0-9]+$", var.chart_version))
    error_message = "chart_version must be an exact version such as 1.2.3."
  }
}

variable "values" {
  description = "Chart values, passed to helm as one YAML file."
  type        = any
  default     = {}
}

variable "kubeconfig_path" {
  description = "kubeconfig file helm uses."
  type        = string
}

variable "kube_context" {
  description = "kubeconfig context helm uses; null for the file's current context."
  type        = string
  default     = null
}

variable "timeout" {
  description = "How long helm waits for the release's workloads to become ready."
  type        = string
  default     = "10m"

  validation {
    condition     = can(regex("^[0-9]+[smh]$", var.timeout))
    error_message = "timeout must be a duration such as 300s, 10m or 1h."
  }
}
