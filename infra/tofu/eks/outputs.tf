output "bucket" {
  description = "S3 bucket of the pipeline."
  value       = module.bucket.bucket
}

output "s3_endpoint" {
  description = "Regional S3 endpoint."
  value       = module.bucket.endpoint
}

output "postgres_url" {
  description = "PIPELINE_MANIFEST_URL, with the password (also in the Secret image-pipeline-credentials)."
  value       = module.postgres.url
  sensitive   = true
}

output "postgres_password" {
  description = "Password of the manifest store's user."
  value       = module.postgres.password
  sensitive   = true
}

output "postgres_url_redacted" {
  description = "The manifest URL without its password."
  value       = module.postgres.url_redacted
}

output "mlflow_url" {
  description = "MLflow tracking URI inside the cluster."
  value       = module.mlflow.url
}

output "staging_root" {
  description = "staging.root as pods see it (hostPath of the node's NVMe mount)."
  value       = "/mnt/nvme"
}

output "node_staging_path" {
  description = "Where the bootstrap mounts the NVMe on the nodes."
  value       = module.nvme.mount_path
}

output "pipeline_config" {
  description = "The pipeline configuration file: infra/k8s/overlays/eks can replace the base pipeline.yaml with it."
  value       = module.pipeline_config.yaml
}

output "stages_role_arn" {
  description = "IRSA role for the stages' service accounts (eks.amazonaws.com/role-arn in the overlay)."
  value       = aws_iam_role.stages.arn
}

output "node_group_arn" {
  description = "The NVMe node group."
  value       = module.node_group.node_group_arn
}
