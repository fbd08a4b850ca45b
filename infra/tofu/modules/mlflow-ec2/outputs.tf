output "url" {
  description = "MLflow's URL in the VPC (mlflow.tracking_uri)."
  value       = "http://${aws_instance.this.private_ip}:5000"
}

output "security_group_id" {
  description = "Security group of the MLflow server (allow it on PostgreSQL)."
  value       = aws_security_group.this.id
}
