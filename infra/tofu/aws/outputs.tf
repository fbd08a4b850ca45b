output "bucket" {
  description = "S3 bucket of the pipeline."
  value       = module.bucket.bucket
}

output "s3_endpoint" {
  description = "Regional S3 endpoint."
  value       = module.bucket.endpoint
}

output "postgres_url" {
  description = "PIPELINE_MANIFEST_URL, with the password: put it in the stages' environment, never in the file."
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
  description = "MLflow tracking URI."
  value       = module.mlflow.url
}

output "staging_root" {
  description = "staging.root: the NVMe mount on every node."
  value       = var.nvme_mount_path
}

output "pipeline_config" {
  description = "The pipeline configuration file for the nodes (/etc/image-pipeline/pipeline.yaml)."
  value       = module.pipeline_config.yaml
}

output "node_private_ips" {
  description = "Private addresses of the stage nodes."
  value       = module.nodes.private_ips
}

output "nvme" {
  description = "The NVMe settings the bootstrap runs with on every node."
  value       = module.nvme.environment
}
