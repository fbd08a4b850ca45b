variable "name" {
  description = "Name prefix of the instance, its role, security group and parameter."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be lower-case letters, digits and '-', at most 31 characters."
  }
}

variable "image" {
  description = "MLflow image with psycopg2 and boto3, pinned by tag or digest."
  type        = string
  default     = "ghcr.io/mlflow/mlflow:v3.17.2-full"

  validation {
    condition     = !endswith(var.image, ":latest") && can(regex("[:@]", var.image))
    error_message = "image must be pinned by a tag other than latest, or by digest."
  }
}

variable "instance_type" {
  description = "Instance type of the MLflow server."
  type        = string
  default     = "t3.medium"
}

variable "vpc_id" {
  description = "VPC of the server."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet of the server."
  type        = string
}

variable "client_security_group_ids" {
  description = "Security groups (the stage nodes) allowed to reach MLflow on 5000."
  type        = list(string)
  default     = []
}

variable "client_cidrs" {
  description = "CIDR blocks allowed to reach MLflow on 5000 (people's browsers through a VPN, for example)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.client_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "client_cidrs must be valid CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "backend_store_url" {
  description = "PostgreSQL URL of MLflow's database, with its password (kept in an SSM SecureString, read at boot)."
  type        = string
  sensitive   = true
}

variable "admin_url" {
  description = "PostgreSQL URL whose user may CREATE DATABASE, to make MLflow's database at boot when missing; empty to skip."
  type        = string
  default     = ""
  sensitive   = true
}

variable "database_name" {
  description = "Name of MLflow's database."
  type        = string
  default     = "mlflow"
}

variable "artifacts_destination" {
  description = "Where MLflow stores artifacts, s3://bucket/mlflow."
  type        = string
}

variable "access_policy_json" {
  description = "IAM policy document for the artifact bucket, attached to the server's role."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the SSM parameters."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
