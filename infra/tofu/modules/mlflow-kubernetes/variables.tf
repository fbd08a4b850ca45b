variable "namespace" {
  description = "Namespace of MLflow (the pipeline's, so the stages reach it as http://mlflow:5000)."
  type        = string
}

variable "name" {
  description = "Name of the Deployment, Service and ServiceAccount."
  type        = string
  default     = "mlflow"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be a DNS label."
  }
}

variable "image" {
  description = "MLflow image with psycopg2 and boto3 (the -full images have both), pinned by tag or digest."
  type        = string
  default     = "ghcr.io/mlflow/mlflow:v3.17.2-full"

  validation {
    condition     = !endswith(var.image, ":latest") && can(regex("[:@]", var.image))
    error_message = "image must be pinned by a tag other than latest, or by digest."
  }
}

variable "replicas" {
  description = "MLflow server replicas (stateless: the state is in PostgreSQL and the bucket)."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 10
    error_message = "replicas must be from 1 to 10."
  }
}

variable "backend_store_url" {
  description = "PostgreSQL URL of MLflow's own database, with its password."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^postgres(ql)?://", var.backend_store_url))
    error_message = "backend_store_url must be a postgres:// or postgresql:// URL."
  }
}

variable "admin_url" {
  description = "PostgreSQL URL of a database on the same server whose user may CREATE DATABASE; an init container makes MLflow's database from it when missing. Empty when the database exists."
  type        = string
  default     = ""
  sensitive   = true
}

variable "database_name" {
  description = "Name of MLflow's database (what backend_store_url names)."
  type        = string
  default     = "mlflow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lower-case identifier."
  }
}

variable "artifacts_destination" {
  description = "Where MLflow stores artifacts and registered models, for example s3://bucket/mlflow."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/.*)?$", var.artifacts_destination))
    error_message = "artifacts_destination must be an s3:// URL."
  }
}

variable "s3_endpoint" {
  description = "MLFLOW_S3_ENDPOINT_URL for an S3-compatible server; empty on AWS."
  type        = string
  default     = ""
}

variable "region" {
  description = "AWS_DEFAULT_REGION for boto3."
  type        = string
  default     = "us-east-1"
}

variable "s3_credentials_secret" {
  description = "Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the artifact store; empty when the service account's role (IRSA) gives access."
  type        = string
  default     = ""
}

variable "service_account_annotations" {
  description = "Annotations of MLflow's ServiceAccount (eks.amazonaws.com/role-arn for IRSA)."
  type        = map(string)
  default     = {}
}

variable "run_as_user" {
  description = "UID MLflow runs as; null lets the platform assign one (OpenShift's restricted-v2 SCC)."
  type        = number
  default     = 10001
}

variable "allowed_hosts" {
  description = "Host headers MLflow accepts (--allowed-hosts); empty for the Service's own names."
  type        = list(string)
  default     = []
}

variable "cpu" {
  description = "CPU request and limit."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory request and limit."
  type        = string
  default     = "2Gi"
}

variable "labels" {
  description = "Labels added to every object."
  type        = map(string)
  default     = {}
}
