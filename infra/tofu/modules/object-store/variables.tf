variable "bucket_name" {
  description = "Name of the S3 bucket that holds raw images, curated images, variants, manifests, training shards and MLflow artifacts."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'."
  }
}

variable "force_destroy" {
  description = "Let `tofu destroy` delete a bucket that still holds objects (for throw-away environments only)."
  type        = bool
  default     = false
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object's old version is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1 && var.noncurrent_version_days <= 3650
    error_message = "noncurrent_version_days must be from 1 to 3650."
  }
}

variable "raw_expiration_days" {
  description = "Days raw uploads (the raw/ prefix) are kept after ingest has taken them; 0 keeps them forever."
  type        = number
  default     = 0

  validation {
    condition     = var.raw_expiration_days >= 0 && var.raw_expiration_days <= 3650
    error_message = "raw_expiration_days must be from 0 (keep) to 3650."
  }
}

variable "raw_prefix" {
  description = "Prefix where raw images land (ingest.raw_prefix)."
  type        = string
  default     = "raw/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()/-]+/$", var.raw_prefix))
    error_message = "raw_prefix must be a key prefix ending in '/'."
  }
}

variable "access_log_bucket" {
  description = "Existing bucket that receives this bucket's server access logs; empty for none."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
