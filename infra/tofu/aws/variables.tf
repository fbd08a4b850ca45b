variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region such as us-east-1."
  }
}

variable "name" {
  description = "Name prefix of everything this variant makes."
  type        = string
  default     = "image-pipeline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be lower-case letters, digits and '-', at most 31 characters."
  }
}

variable "bucket_name" {
  description = "S3 bucket of the pipeline (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name."
  }
}

variable "vpc_id" {
  description = "Existing VPC of the nodes, MLflow and the database."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets in at least two availability zones (nodes, MLflow, database)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for id in var.private_subnet_ids : startswith(id, "subnet-")])
    error_message = "private_subnet_ids must list at least two subnet ids (subnet-...)."
  }
}

variable "client_cidrs" {
  description = "CIDR blocks (VPN, office) allowed to reach the stages' HTTP ports and MLflow."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.client_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "client_cidrs must be valid CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "instance_type" {
  description = "Instance type of the stage nodes; it must have instance-store NVMe (m6id, c6id, r6id, i4i, ...)."
  type        = string
  default     = "m6id.2xlarge"

  validation {
    condition     = can(regex("^(([cmr][5-8][a-z]*dn?)|(x2i?e?dn)|(z1d)|(i[3-8][a-z]*)|(im4gn)|(is4gen)|(d3e?n?)|(g4dn)|(g[56]e?))\\.[0-9]*(nano|micro|small|medium|large|xlarge|metal[0-9a-z-]*)$", var.instance_type))
    error_message = "instance_type must have instance-store NVMe: a 'd' family (m6id, c6id, r6id, m7gd, ...), i3/i3en/i4i/i4g, im4gn, is4gen, d3, g4dn, g5, z1d, x2idn."
  }
}

variable "instance_count" {
  description = "How many stage nodes."
  type        = number
  default     = 2

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 100 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number from 1 to 100."
  }
}

variable "stages_user_data" {
  description = "Shell appended to the nodes' user data after the NVMe bootstrap: what starts the stages (containers or binaries)."
  type        = string
  default     = ""
}

variable "nvme_device_pattern" {
  description = "Glob of the instance-store devices, by id."
  type        = string
  default     = "/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*"

  validation {
    condition     = startswith(var.nvme_device_pattern, "/dev/disk/by-id/")
    error_message = "nvme_device_pattern must be a /dev/disk/by-id/ glob, so the root EBS volume never matches."
  }
}

variable "nvme_raid" {
  description = "raid0 (several devices striped; one used as is) or single (the first device)."
  type        = string
  default     = "raid0"

  validation {
    condition     = contains(["raid0", "single"], var.nvme_raid)
    error_message = "nvme_raid must be raid0 or single."
  }
}

variable "nvme_filesystem" {
  description = "File system of the staging area."
  type        = string
  default     = "xfs"

  validation {
    condition     = contains(["xfs", "ext4"], var.nvme_filesystem)
    error_message = "nvme_filesystem must be xfs or ext4."
  }
}

variable "nvme_mount_options" {
  description = "Mount options (the bootstrap adds nofail)."
  type        = string
  default     = "noatime"

  validation {
    condition     = can(regex("^[A-Za-z0-9_=.,-]+$", var.nvme_mount_options))
    error_message = "nvme_mount_options must be a comma-separated list without spaces."
  }
}

variable "nvme_mount_path" {
  description = "Where the staging area is mounted (staging.root)."
  type        = string
  default     = "/mnt/nvme"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.nvme_mount_path))
    error_message = "nvme_mount_path must be an absolute path without spaces or a trailing slash."
  }
}

variable "postgres_instance_class" {
  description = "RDS instance class of the manifest store."
  type        = string
  default     = "db.m7g.large"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.postgres_instance_class))
    error_message = "postgres_instance_class must look like db.m7g.large."
  }
}

variable "postgres_multi_az" {
  description = "Run the database with a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Protect the database from deletion (turn off before destroying a test environment)."
  type        = bool
  default     = true
}

variable "mlflow_image" {
  description = "MLflow image with psycopg2 and boto3, pinned."
  type        = string
  default     = "ghcr.io/mlflow/mlflow:v3.17.2-full"

  validation {
    condition     = !endswith(var.mlflow_image, ":latest")
    error_message = "mlflow_image must be pinned, not latest."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = { "app.kubernetes.io/part-of" = "image-pipeline" }
}
