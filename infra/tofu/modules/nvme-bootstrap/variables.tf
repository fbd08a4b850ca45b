variable "device_pattern" {
  description = "Glob of the NVMe devices to use (NVME_DEVICES), by-id so the root disk never matches; AWS's instance-store names by default."
  type        = string
  default     = "/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*"

  validation {
    condition     = can(regex("^/dev/[A-Za-z0-9/_.*?\\[\\]-]+$", var.device_pattern))
    error_message = "device_pattern must be an absolute /dev glob (for example /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*) without spaces."
  }
}

variable "raid" {
  description = "NVME_RAID: raid0 (RAID0 when there are several devices, the device itself when one), single (the first device only) or auto (as raid0)."
  type        = string
  default     = "raid0"

  validation {
    condition     = contains(["raid0", "single", "auto"], var.raid)
    error_message = "raid must be raid0, single or auto."
  }
}

variable "filesystem" {
  description = "NVME_FS: the file system made on the device or array."
  type        = string
  default     = "xfs"

  validation {
    condition     = contains(["xfs", "ext4"], var.filesystem)
    error_message = "filesystem must be xfs or ext4 (what the bootstrap can make)."
  }
}

variable "mount_options" {
  description = "NVME_MOUNT_OPTIONS: comma-separated mount options; the bootstrap adds nofail."
  type        = string
  default     = "noatime"

  validation {
    condition     = can(regex("^[A-Za-z0-9_=.,-]+$", var.mount_options))
    error_message = "mount_options must be a comma-separated option list without spaces (for example noatime or noatime,discard)."
  }
}

variable "mount_path" {
  description = "NVME_MOUNT_PATH: where the staging file system is mounted on the node."
  type        = string
  default     = "/mnt/nvme"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.mount_path))
    error_message = "mount_path must be an absolute path below / without spaces or a trailing slash (for example /mnt/nvme, /var/mnt/nvme on OpenShift)."
  }
}

variable "mount_method" {
  description = "NVME_MOUNT_METHOD: systemd (a mount unit, the default on systemd hosts) or fstab (a line with nofail)."
  type        = string
  default     = "systemd"

  validation {
    condition     = contains(["systemd", "fstab"], var.mount_method)
    error_message = "mount_method must be systemd or fstab."
  }
}

variable "stages" {
  description = "NVME_STAGES: a folder per stage is made under the mount path, owned by owner."
  type        = list(string)
  default     = ["ingest", "normalize", "train", "infer", "sprint"]

  validation {
    condition     = length(var.stages) > 0 && alltrue([for stage in var.stages : can(regex("^[a-z0-9][a-z0-9-]*$", stage))])
    error_message = "stages must be a non-empty list of lower-case folder names."
  }
}

variable "owner" {
  description = "NVME_OWNER: uid:gid owning the stage folders (10001:10001 is the images' user)."
  type        = string
  default     = "10001:10001"

  validation {
    condition     = can(regex("^[0-9]+:[0-9]+$", var.owner))
    error_message = "owner must be numeric uid:gid, for example 10001:10001."
  }
}

variable "md_name" {
  description = "NVME_MD_NAME: name of the md array (/dev/md/<name>)."
  type        = string
  default     = "pipeline-nvme"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.md_name))
    error_message = "md_name must be 1-32 letters, digits, '-' or '_'."
  }
}

variable "install_packages" {
  description = "Shell command run before the bootstrap is installed, to get mdadm and the file-system tools (empty when the image has them, as RHCOS does)."
  type        = string
  default     = ""
}

variable "script_path" {
  description = "Where the bootstrap script is installed on the node."
  type        = string
  default     = "/usr/local/sbin/nvme-bootstrap"

  validation {
    condition     = startswith(var.script_path, "/")
    error_message = "script_path must be absolute."
  }
}

variable "environment_file" {
  description = "Where the bootstrap's settings are written on the node (the systemd unit's EnvironmentFile)."
  type        = string
  default     = "/etc/default/nvme-bootstrap"

  validation {
    condition     = startswith(var.environment_file, "/etc/")
    error_message = "environment_file must be under /etc/."
  }
}
