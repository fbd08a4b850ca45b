variable "servers" {
  description = "Existing hosts that become RKE2 servers (control plane); the first one initialises the cluster. Odd count: 1 or 3."
  type        = list(object({
    name = string
    host = string
  }))

  validation {
    condition     = contains([1, 3, 5], length(var.servers))
    error_message = "servers must hold 1, 3 or 5 hosts (etcd quorum)."
  }
}

variable "agents" {
  description = "Existing hosts that become RKE2 agents; nvme = true runs the NVMe bootstrap there and labels and taints the node for the stages."
  type        = list(object({
    name = string
    host = string
    nvme = bool
  }))
  default = []

  validation {
    condition     = length(var.agents) <= 500
    error_message = "agents must hold at most 500 hosts."
  }
}

variable "ssh_user" {
  description = "SSH user on every host (with passwordless sudo)."
  type        = string
  default     = "root"
}

variable "ssh_private_key_path" {
  description = "Private key for the hosts; empty to use the SSH agent."
  type        = string
  default     = ""
}

variable "rke2_version" {
  description = "RKE2 release installed on every host, pinned."
  type        = string
  default     = "v1.33.5+rke2r1"

  validation {
    condition     = can(regex("^v1\\.[0-9]+\\.[0-9]+\\+rke2r[0-9]+$", var.rke2_version))
    error_message = "rke2_version must be a release tag such as v1.33.5+rke2r1."
  }
}

variable "cluster_cidr" {
  description = "Pod network."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.cluster_cidr, 0))
    error_message = "cluster_cidr must be a CIDR block."
  }
}

variable "service_cidr" {
  description = "Service network."
  type        = string
  default     = "10.43.0.0/16"

  validation {
    condition     = can(cidrhost(var.service_cidr, 0))
    error_message = "service_cidr must be a CIDR block."
  }
}

variable "nvme_device_pattern" {
  description = "Glob of the NVMe devices by id on the hosts (for example /dev/disk/by-id/nvme-Samsung_SSD_990_PRO_*); never one that matches the root disk."
  type        = string

  validation {
    condition     = startswith(var.nvme_device_pattern, "/dev/disk/by-id/nvme-") && var.nvme_device_pattern != "/dev/disk/by-id/nvme-*"
    error_message = "nvme_device_pattern must be a narrower /dev/disk/by-id/nvme-<model>* glob than every NVMe disk (the root disk may be NVMe too)."
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
  description = "Where the staging area is mounted on the hosts (the manifests' hostPath)."
  type        = string
  default     = "/mnt/nvme"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.nvme_mount_path))
    error_message = "nvme_mount_path must be an absolute path without spaces or a trailing slash."
  }
}

variable "install_packages" {
  description = "Command that installs mdadm and xfsprogs on the hosts."
  type        = string
  default     = "if command -v apt-get >/dev/null; then DEBIAN_FRONTEND=noninteractive apt-get install -y mdadm xfsprogs; else dnf install -y mdadm xfsprogs; fi"
}

variable "local_path_image" {
  description = "local-path-provisioner image, pinned."
  type        = string
  default     = "docker.io/rancher/local-path-provisioner:v0.0.31"

  validation {
    condition     = !endswith(var.local_path_image, ":latest")
    error_message = "local_path_image must be pinned, not latest."
  }
}

variable "s3_endpoint" {
  description = "S3-compatible endpoint the stages use (RustFS, MinIO, ...)."
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
  description = "Existing bucket of the pipeline."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "bucket must be a valid bucket name."
  }
}

variable "s3_access_key_id" {
  description = "Access key of the bucket (into the Secret image-pipeline-credentials)."
  type        = string
  sensitive   = true
}

variable "s3_secret_access_key" {
  description = "Secret key that goes with s3_access_key_id."
  type        = string
  sensitive   = true
}

variable "postgres_host" {
  description = "Existing PostgreSQL server."
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
  default     = "prefer"

  validation {
    condition     = contains(["disable", "prefer", "require", "verify-ca", "verify-full"], var.postgres_sslmode)
    error_message = "postgres_sslmode must be a libpq sslmode."
  }
}

variable "enable_cluster_resources" {
  description = "Second step: with kubeconfig_path holding the cluster's kubeconfig (copied from the first server's /etc/rancher/rke2/rke2.yaml), create the namespace, Secret and MLflow."
  type        = bool
  default     = false
}

variable "kubeconfig_path" {
  description = "kubeconfig of the new cluster, used when enable_cluster_resources is true."
  type        = string
  default     = "~/.kube/rke2-image-pipeline.yaml"
}

variable "namespace" {
  description = "Namespace of the pipeline (what infra/k8s/overlays/rke2 uses)."
  type        = string
  default     = "image-pipeline"
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
  description = "train.image: the training node image (the overlay's local registry name)."
  type        = string
  default     = "registry.local:5000/image-pipeline/pipeline-train:0.1.0"
}
