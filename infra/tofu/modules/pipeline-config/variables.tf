variable "object_store_url" {
  description = "object_store.url: s3://bucket/prefix."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.object_store_url))
    error_message = "object_store_url must be s3://bucket/ or s3://bucket/prefix/."
  }
}

variable "s3_endpoint" {
  description = "object_store.endpoint for an S3-compatible server (RustFS, MinIO, ODF); empty on AWS, where the pipeline derives it from the region."
  type        = string
  default     = ""

  validation {
    condition     = var.s3_endpoint == "" || can(regex("^https?://[^ ]+$", var.s3_endpoint))
    error_message = "s3_endpoint must be empty or an http(s):// URL."
  }
}

variable "region" {
  description = "object_store.region, used in request signatures."
  type        = string
  default     = "us-east-1"
}

variable "addressing" {
  description = "object_store.addressing: auto, path or virtual."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "path", "virtual"], var.addressing)
    error_message = "addressing must be auto, path or virtual."
  }
}

variable "manifest_pool_size" {
  description = "manifest.pool_size: PostgreSQL connections each process keeps."
  type        = number
  default     = 4

  validation {
    condition     = var.manifest_pool_size >= 1 && var.manifest_pool_size <= 64
    error_message = "manifest_pool_size must be from 1 to 64."
  }
}

variable "staging_root" {
  description = "staging.root as the stages see it (inside the pod, or on the host for plain instances)."
  type        = string
  default     = "/mnt/nvme"

  validation {
    condition     = startswith(var.staging_root, "/")
    error_message = "staging_root must be an absolute path."
  }
}

variable "staging_reserve_mib" {
  description = "staging.reserve_mib: free space always left on the staging file system."
  type        = number
  default     = 4096

  validation {
    condition     = var.staging_reserve_mib >= 0 && var.staging_reserve_mib <= 10485760
    error_message = "staging_reserve_mib must be from 0 to 10485760."
  }
}

variable "dataset" {
  description = "ingest.dataset."
  type        = string
  default     = "images"
}

variable "mlflow_tracking_uri" {
  description = "mlflow.tracking_uri."
  type        = string

  validation {
    condition     = can(regex("^https?://[^ ]+$", var.mlflow_tracking_uri))
    error_message = "mlflow_tracking_uri must be an http(s):// URL."
  }
}

variable "mlflow_experiment" {
  description = "mlflow.experiment."
  type        = string
  default     = "image-pipeline"
}

variable "train_backend" {
  description = "train.backend: builtin, command or kubernetes."
  type        = string
  default     = "kubernetes"

  validation {
    condition     = contains(["builtin", "command", "kubernetes"], var.train_backend)
    error_message = "train_backend must be builtin, command or kubernetes."
  }
}

variable "train_image" {
  description = "train.image for the kubernetes backend; empty to leave the key out."
  type        = string
  default     = ""
}

variable "train_namespace" {
  description = "train.namespace for the kubernetes backend; empty to leave the key out."
  type        = string
  default     = ""
}

variable "train_nodes" {
  description = "train.nodes."
  type        = number
  default     = 1

  validation {
    condition     = var.train_nodes >= 1 && var.train_nodes <= 1024
    error_message = "train_nodes must be from 1 to 1024."
  }
}

variable "log_format" {
  description = "observability.log_format."
  type        = string
  default     = "json"

  validation {
    condition     = contains(["auto", "text", "json"], var.log_format)
    error_message = "log_format must be auto, text or json."
  }
}

variable "metrics_host" {
  description = "observability.metrics_host."
  type        = string
  default     = "0.0.0.0"
}

variable "metrics_port" {
  description = "observability.metrics_port."
  type        = number
  default     = 9464

  validation {
    condition     = var.metrics_port >= 0 && var.metrics_port <= 65535
    error_message = "metrics_port must be from 0 to 65535."
  }
}

variable "overrides" {
  description = "Further keys by section, merged over the rendered ones (for example { ingest = { batch_size = 64 } }); never secrets."
  type        = any
  default     = {}

  validation {
    condition = alltrue(flatten([for section, keys in var.overrides : [
      for key, value in keys : !contains(["access_key_id", "secret_access_key", "session_token", "webhook_token", "token", "password", "api_key"], key)
    ]]))
    error_message = "overrides must not carry secrets: they come from the environment (image-pipeline-credentials)."
  }
}
