variable "identifier" {
  description = "RDS instance identifier (also names the subnet group, parameter group and security group)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.identifier)) && !endswith(var.identifier, "-")
    error_message = "identifier must start with a letter and hold only lower-case letters, digits and '-' (at most 63)."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Private subnets (in at least two availability zones) for the database."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for id in var.subnet_ids : startswith(id, "subnet-")])
    error_message = "subnet_ids must list at least two subnet ids (subnet-...) in different availability zones."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect on 5432 (the stage nodes, MLflow)."
  type        = list(string)
  default     = []
}

variable "allowed_cidrs" {
  description = "CIDR blocks that may connect on 5432, besides allowed_security_group_ids."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "allowed_cidrs must be valid CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "engine_version" {
  description = "PostgreSQL major version (RDS picks the newest minor and upgrades minors itself)."
  type        = string
  default     = "17"

  validation {
    condition     = contains(["15", "16", "17"], var.engine_version)
    error_message = "engine_version must be 15, 16 or 17."
  }
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.m7g.large"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.m7g.large."
  }
}

variable "allocated_storage_gib" {
  description = "Initial storage (GiB); storage autoscaling grows it up to max_allocated_storage_gib."
  type        = number
  default     = 100

  validation {
    condition     = var.allocated_storage_gib >= 20 && var.allocated_storage_gib <= 65536
    error_message = "allocated_storage_gib must be from 20 to 65536."
  }
}

variable "max_allocated_storage_gib" {
  description = "Upper bound of storage autoscaling (GiB)."
  type        = number
  default     = 1000

  validation {
    condition     = var.max_allocated_storage_gib >= 20 && var.max_allocated_storage_gib <= 65536
    error_message = "max_allocated_storage_gib must be from 20 to 65536."
  }
}

variable "multi_az" {
  description = "Run a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be from 1 to 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the database (turn off before `tofu destroy`)."
  type        = bool
  default     = true
}

variable "database" {
  description = "Database the manifest store uses (MLflow makes its own, mlflow, beside it)."
  type        = string
  default     = "pipeline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database))
    error_message = "database must be a lower-case identifier."
  }
}

variable "username" {
  description = "Master user name."
  type        = string
  default     = "pipeline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.username)) && !contains(["admin", "postgres", "rdsadmin"], var.username)
    error_message = "username must be a lower-case identifier of at most 16 characters, and not a reserved name."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
