output "instance_ids" {
  description = "Ids of the instances."
  value       = aws_instance.this[*].id
}

output "private_ips" {
  description = "Private addresses of the instances."
  value       = aws_instance.this[*].private_ip
}

output "security_group_id" {
  description = "Security group of the instances (allow it on PostgreSQL and MLflow)."
  value       = aws_security_group.this.id
}

output "role_arn" {
  description = "IAM role of the instances."
  value       = aws_iam_role.this.arn
}

output "instance_store_gib" {
  description = "Instance-store NVMe per instance (GiB), as EC2 reports it for the type."
  value       = data.aws_ec2_instance_type.this.total_instance_storage
}
