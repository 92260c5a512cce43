terraform {
  required_version = ">= 1.7.0"

  required_providers {
    # kubectl_manifest applies objects whose CRDs are installed earlier in the same apply
    # (MetalLB's IPAddressPool/L2Advertisement): it needs no CRD schema at plan time.
    kubectl = {
      source  = "gavinbunney/kubectl"
      version = "~> 1.19"
    }
  }
}
