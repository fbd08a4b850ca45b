variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region such as us-east-1."
  }
}

variable "cluster_name" {
  description = "Existing EKS cluster (with an IAM OIDC provider for IRSA) the node group joins."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "cluster_name must be a valid EKS cluster name."
  }
}

variable "name" {
  description = "Name prefix of the node group, bucket key, database and roles."
  type        = string
  default     = "image-pipeline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be lower-case letters, digits and '-', at most 31 characters."
  }
}

variable "namespace" {
  description = "Namespace of the pipeline (what infra/k8s/overlays/eks uses)."
  type        = string
  default     = "image-pipeline"
}

variable "stage_service_accounts" {
  description = "Service accounts that get the bucket through IRSA (infra/k8s/base/serviceaccounts.yaml)."
  type        = list(string)
  default     = ["image-pipeline", "image-pipeline-train-launcher"]

  validation {
    condition     = length(var.stage_service_accounts) >= 1
    error_message = "stage_service_accounts must name at least one service account."
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

variable "node_subnet_ids" {
  description = "Private subnets of the NVMe nodes; empty for the cluster's own subnets."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.node_subnet_ids : startswith(id, "subnet-")])
    error_message = "node_subnet_ids must be subnet ids (subnet-...)."
  }
}

variable "instance_types" {
  description = "Instance types of the NVMe node group; each must have instance-store NVMe."
  type        = list(string)
  default     = ["m6id.2xlarge", "m6id.4xlarge"]

  validation {
    condition = length(var.instance_types) >= 1 && alltrue([
      for type in var.instance_types :
      can(regex("^(([cmr][5-8][a-z]*dn?)|(x2i?e?dn)|(z1d)|(i[3-8][a-z]*)|(im4gn)|(is4gen)|(d3e?n?)|(g4dn)|(g[56]e?))\\.[0-9]*(nano|micro|small|medium|large|xlarge|metal[0-9a-z-]*)$", type))
    ])
    error_message = "instance_types must be types with instance-store NVMe: a 'd' family (m6id, c6id, r6id, m7gd, ...), i3/i3en/i4i/i4g, im4gn, is4gen, d3, g4dn, g5, z1d, x2idn."
  }
}

variable "ami_type" {
  description = "AL2023 AMI type of the nodes (x86_64 or ARM to match instance_types)."
  type        = string
  default     = "AL2023_x86_64_STANDARD"

  validation {
    condition     = startswith(var.ami_type, "AL2023_")
    error_message = "ami_type must be an AL2023 type: the user data is nodeadm's MIME format."
  }
}

variable "node_min" {
  description = "Fewest NVMe nodes."
  type        = number
  default     = 1

  validation {
    condition     = var.node_min >= 0 && var.node_min <= 450
    error_message = "node_min must be from 0 to 450."
  }
}

variable "node_desired" {
  description = "NVMe nodes at creation."
  type        = number
  default     = 2

  validation {
    condition     = var.node_desired >= 0 && var.node_desired <= 450
    error_message = "node_desired must be from 0 to 450."
  }
}

variable "node_max" {
  description = "Most NVMe nodes."
  type        = number
  default     = 10

  validation {
    condition     = var.node_max >= 1 && var.node_max <= 450
    error_message = "node_max must be from 1 to 450."
  }
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
  description = "Where the staging area is mounted on the node: /mnt/nvme, the hostPath the manifests use (not nodeadm's /mnt/k8s-disks)."
  type        = string
  default     = "/mnt/nvme"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.nvme_mount_path)) && var.nvme_mount_path != "/mnt/k8s-disks"
    error_message = "nvme_mount_path must be an absolute path, and not nodeadm's /mnt/k8s-disks."
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

variable "database_subnet_ids" {
  description = "Private subnets (two availability zones or more) of the database; empty for the cluster's subnets."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.database_subnet_ids) == 0 || length(var.database_subnet_ids) >= 2
    error_message = "database_subnet_ids must be empty or list at least two subnets."
  }
}

variable "deletion_protection" {
  description = "Protect the database from deletion."
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

variable "train_image" {
  description = "train.image: the training node image (the overlay's ECR name)."
  type        = string
  default     = "image-pipeline/pipeline-train:latest"
}

variable "create_credentials_secret" {
  description = "Create the Secret image-pipeline-credentials with PIPELINE_MANIFEST_URL (the value lands in the state; keep the state encrypted)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = { "app.kubernetes.io/part-of" = "image-pipeline" }
}
