variable "cluster_name" {
  description = "EKS cluster the node group joins."
  type        = string
}

variable "name" {
  description = "Node group name."
  type        = string
  default     = "image-pipeline-nvme"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", var.name))
    error_message = "name must be 1-63 letters, digits, '-' or '_'."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for id in var.subnet_ids : startswith(id, "subnet-")])
    error_message = "subnet_ids must list subnet ids (subnet-...)."
  }
}

variable "instance_types" {
  description = "Instance types with instance-store NVMe (m6id, c6id, r6id, i4i, ...), all of one architecture."
  type        = list(string)

  validation {
    condition = length(var.instance_types) >= 1 && alltrue([
      for type in var.instance_types :
      can(regex("^(([cmr][5-8][a-z]*dn?)|(x2i?e?dn)|(z1d)|(i[3-8][a-z]*)|(im4gn)|(is4gen)|(d3e?n?)|(g4dn)|(g[56]e?))\\.[0-9]*(nano|micro|small|medium|large|xlarge|metal[0-9a-z-]*)$", type))
    ])
    error_message = "instance_types must be types with instance-store NVMe: a 'd' family (m6id, c6id, r6id, m7gd, ...), i3/i3en/i4i/i4g/i7ie/i8g, im4gn, is4gen, d3, g4dn, g5, z1d, x2idn."
  }
}

variable "ami_type" {
  description = "EKS AMI type: an Amazon Linux 2023 one (nodeadm reads the NodeConfig part of the user data)."
  type        = string
  default     = "AL2023_x86_64_STANDARD"

  validation {
    condition     = startswith(var.ami_type, "AL2023_")
    error_message = "ami_type must be an AL2023 type (AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, ...): the user data is nodeadm's MIME format."
  }
}

variable "capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.capacity_type)
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "min_size" {
  description = "Fewest nodes."
  type        = number
  default     = 1

  validation {
    condition     = var.min_size >= 0 && var.min_size <= 450
    error_message = "min_size must be from 0 to 450."
  }
}

variable "desired_size" {
  description = "Nodes at creation (the autoscaler moves it afterwards)."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_size >= 0 && var.desired_size <= 450
    error_message = "desired_size must be from 0 to 450."
  }
}

variable "max_size" {
  description = "Most nodes."
  type        = number
  default     = 10

  validation {
    condition     = var.max_size >= 1 && var.max_size <= 450
    error_message = "max_size must be from 1 to 450."
  }
}

variable "root_volume_gib" {
  description = "Root EBS volume (GiB): images and container layers; staging is on the NVMe."
  type        = number
  default     = 50

  validation {
    condition     = var.root_volume_gib >= 20 && var.root_volume_gib <= 1024
    error_message = "root_volume_gib must be from 20 to 1024."
  }
}

variable "bootstrap_script" {
  description = "Shell script run as root by cloud-init before nodeadm starts the kubelet: the NVMe bootstrap's install script."
  type        = string
}

variable "labels" {
  description = "Kubernetes labels of the nodes (the stages select image-pipeline/nvme=true)."
  type        = map(string)
  default     = { "image-pipeline/nvme" = "true" }
}

variable "taint_nvme" {
  description = "Taint the nodes image-pipeline/nvme=true:NoSchedule so only the stages (which tolerate it) land there."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
