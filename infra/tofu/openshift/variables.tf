variable "kubeconfig_path" {
  description = "kubeconfig of the OpenShift cluster (cluster-admin: MachineConfigs and operators' CRs)."
  type        = string
  default     = "~/.kube/config"
}

variable "kubeconfig_context" {
  description = "Context in the kubeconfig; empty for the current one."
  type        = string
  default     = ""
}

variable "namespace" {
  description = "Namespace of the pipeline (what infra/k8s/overlays/openshift uses)."
  type        = string
  default     = "image-pipeline"
}

variable "storage_mode" {
  description = "machineconfig: a MachineConfig runs the NVMe bootstrap and mounts at /var/mnt/nvme (hostPath staging, as the overlay); local-storage-operator: a LocalVolume CR turns each device into a local PersistentVolume instead (needs the Local Storage Operator installed, and PVCs in place of hostPath)."
  type        = string
  default     = "machineconfig"

  validation {
    condition     = contains(["machineconfig", "local-storage-operator"], var.storage_mode)
    error_message = "storage_mode must be machineconfig or local-storage-operator."
  }
}

variable "machine_config_pool" {
  description = "MachineConfigPool (role) whose nodes get the NVMe MachineConfig: worker, or a custom pool of the NVMe MachineSet."
  type        = string
  default     = "worker"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.machine_config_pool)) && var.machine_config_pool != "master"
    error_message = "machine_config_pool must be a pool name other than master."
  }
}

variable "nvme_node_names" {
  description = "Nodes to label image-pipeline/nvme=true and taint for the stages (a MachineSet's template labels can do it instead)."
  type        = list(string)
  default     = []
}

variable "nvme_device_pattern" {
  description = "Glob of the NVMe devices by id (RHCOS on AWS: nvme-Amazon_EC2_NVMe_Instance_Storage_*; bare metal: the disks' model or serial)."
  type        = string
  default     = "/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*"

  validation {
    condition     = startswith(var.nvme_device_pattern, "/dev/disk/by-id/")
    error_message = "nvme_device_pattern must be a /dev/disk/by-id/ glob, so the root disk never matches."
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
  description = "Where the NVMe is mounted on RHCOS: under /var, the only writable place for mounts (/mnt is a symlink to /var/mnt)."
  type        = string
  default     = "/var/mnt/nvme"

  validation {
    condition     = can(regex("^/var/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.nvme_mount_path))
    error_message = "nvme_mount_path must be under /var (RHCOS mounts nowhere else), for example /var/mnt/nvme."
  }
}

variable "local_volume_device_paths" {
  description = "local-storage-operator mode: the devices, one PersistentVolume each (LocalVolume takes explicit paths, not globs)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for path in var.local_volume_device_paths : startswith(path, "/dev/disk/by-id/")])
    error_message = "local_volume_device_paths must be /dev/disk/by-id/ paths."
  }
}

variable "s3_endpoint" {
  description = "S3-compatible endpoint (ODF/NooBaa's s3 route, MinIO, or https://s3.<region>.amazonaws.com)."
  type        = string

  validation {
    condition     = can(regex("^https?://[^ ]+$", var.s3_endpoint))
    error_message = "s3_endpoint must be an http(s):// URL."
  }
}

variable "s3_region" {
  description = "Region used in request signatures."
  type        = string
  default     = "us-east-1"
}

variable "bucket" {
  description = "Existing bucket of the pipeline (an ObjectBucketClaim's bucket on ODF)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "bucket must be a valid bucket name."
  }
}

variable "s3_access_key_id" {
  description = "Access key of the bucket (goes into the Secret image-pipeline-credentials, never into the file)."
  type        = string
  sensitive   = true
}

variable "s3_secret_access_key" {
  description = "Secret key that goes with s3_access_key_id."
  type        = string
  sensitive   = true
}

variable "postgres_host" {
  description = "Existing PostgreSQL server (Crunchy PGO, an RDS instance, ...)."
  type        = string
}

variable "postgres_port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432

  validation {
    condition     = var.postgres_port >= 1 && var.postgres_port <= 65535
    error_message = "postgres_port must be from 1 to 65535."
  }
}

variable "postgres_database" {
  description = "Database of the manifest store."
  type        = string
  default     = "pipeline"
}

variable "postgres_user" {
  description = "PostgreSQL user (may CREATE DATABASE, for MLflow's own)."
  type        = string
  default     = "pipeline"
}

variable "postgres_password" {
  description = "Password of postgres_user."
  type        = string
  sensitive   = true
}

variable "postgres_sslmode" {
  description = "libpq sslmode of the connections."
  type        = string
  default     = "require"

  validation {
    condition     = contains(["disable", "prefer", "require", "verify-ca", "verify-full"], var.postgres_sslmode)
    error_message = "postgres_sslmode must be a libpq sslmode."
  }
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
  description = "train.image: the training node image."
  type        = string
  default     = "image-pipeline/pipeline-train:latest"
}
