output "host" {
  description = "Address of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "database" {
  description = "Database of the manifest store."
  value       = var.database
}

output "username" {
  description = "Master user name."
  value       = var.username
}

output "password" {
  description = "Master password."
  value       = random_password.master.result
  sensitive   = true
}

output "url" {
  description = "PIPELINE_MANIFEST_URL, with the password."
  value       = local.url
  sensitive   = true
}

output "url_redacted" {
  description = "The manifest URL without its password, for logs and documentation."
  value       = local.url_redacted
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this.id
}
