output "yaml" {
  description = "The pipeline configuration file (pipeline.yaml), without secrets."
  value       = local.yaml
}

output "document" {
  description = "The configuration as an object, by section."
  value       = local.document
}

output "secret_environment" {
  description = "Environment variables that carry the secrets the file leaves out."
  value       = local.secret_environment
}
