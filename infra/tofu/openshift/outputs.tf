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
  value       = module.mlflow.url
}

output "staging_root" {
  description = "staging.root as pods see it: the overlay mounts the node's /var/mnt/nvme/<stage> at /mnt/nvme."
  value       = "/mnt/nvme"
}

output "node_staging_path" {
  description = "Where the MachineConfig mounts the NVMe on the nodes."
  value       = module.nvme.mount_path
}

output "pipeline_config" {
  description = "The pipeline configuration file: infra/k8s/overlays/openshift can replace the base pipeline.yaml with it."
  value       = module.pipeline_config.yaml
}

output "machine_config_yaml" {
  description = "The MachineConfig, for review or GitOps (what kubernetes_manifest applies in machineconfig mode)."
  value       = yamlencode(local.machine_config)
}

output "local_volume_yaml" {
  description = "The LocalVolume CR of the Local Storage Operator alternative."
  value       = yamlencode(local.local_volume)
}
