# A single-pod NFS server for clusters without NFS storage (kind): the NFS CSI driver mounts it
# through its Service name. The manifests are plain YAML files so they read (and are scanned by
# checkov) as what they are.
resource "kubectl_manifest" "nfs_server_deployment" {
  count = var.nfs_server_enabled ? 1 : 0

  yaml_body        = templatefile("${path.module}/manifests/nfs-server-deployment.yaml", { image = var.nfs_server_image })
  wait_for_rollout = true

  depends_on = [kubectl_manifest.namespace]
}

resource "kubectl_manifest" "nfs_server_service" {
  count = var.nfs_server_enabled ? 1 : 0

  yaml_body = file("${path.module}/manifests/nfs-server-service.yaml")

  depends_on = [kubectl_manifest.namespace]
}

resource "kubectl_manifest" "nfs_server_network_policy" {
  count = var.nfs_server_enabled ? 1 : 0

  yaml_body = file("${path.module}/manifests/nfs-server-networkpolicy.yaml")

  depends_on = [kubectl_manifest.namespace]
}
