output "bucket" {
  description = "Bucket name."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "url" {
  description = "object_store.url for the pipeline configuration."
  value       = "s3://${aws_s3_bucket.this.id}/"
}

output "region" {
  description = "Region of the bucket."
  value       = aws_s3_bucket.this.region
}

output "endpoint" {
  description = "Regional S3 endpoint (the pipeline leaves object_store.endpoint unset on AWS)."
  value       = "https://s3.${data.aws_region.current.region}.amazonaws.com"
}

output "kms_key_arn" {
  description = "KMS key that encrypts the bucket."
  value       = aws_kms_key.bucket.arn
}

output "access_policy_json" {
  description = "IAM policy document granting the stages read, write and list on the bucket."
  value       = data.aws_iam_policy_document.access.json
}
