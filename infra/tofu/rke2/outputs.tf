output "bucket" {
  description = "Bucket of the pipeline."
  value       = var.bucket
}

output "s3_endpoint" {
  description = "S3-compatible endpoint (object_store.endpoint)."
  value       = var.s3_endpoint
}

output "postgres_url" {
  description = "PIPELINE_MANIFEST_URL, with the password (also in the Secret image-pipeline-credentials)."
  value       = local.manifest_url
  sensitive   = true
}

output "postgres_password" {
  description = "Password of the manifest store's user."
  value       = var.postgres_password
  sensitive   = true
}

output "mlflow_url" {
  description = "MLflow tracking URI inside the cluster."
  value       = local.mlflow_url
}

output "staging_root" {
  description = "staging.root as pods see it (hostPath of the node's NVMe mount)."
  value       = "/mnt/nvme"
}

output "node_staging_path" {
  description = "Where the bootstrap mounts the NVMe on the NVMe agents."
  value       = module.nvme.mount_path
}

output "local_path_root" {
  description = "Folder under the NVMe mount where local-path-provisioner makes its volumes (StorageClass local-path)."
  value       = local.local_path_root
}

output "pipeline_config" {
  description = "The pipeline configuration file: infra/k8s/overlays/rke2 can replace the base pipeline.yaml with it."
  value       = module.pipeline_config.yaml
}

output "join_token" {
  description = "RKE2 join token."
  value       = random_password.token.result
  sensitive   = true
}

output "kubeconfig_hint" {
  description = "How to fetch the kubeconfig for the second apply."
  value       = "ssh ${var.ssh_user}@${local.first_server.host} sudo cat /etc/rancher/rke2/rke2.yaml | sed 's/127.0.0.1/${local.first_server.host}/' > ${var.kubeconfig_path}"
}
