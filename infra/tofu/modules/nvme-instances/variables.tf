variable "name" {
  description = "Name prefix of the instances, their role and security group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be lower-case letters, digits and '-', at most 31 characters."
  }
}

variable "instance_type" {
  description = "EC2 instance type with instance-store NVMe (m6id, c6id, r6id, i4i, ...): the staging area lives on it."
  type        = string

  validation {
    condition     = can(regex("^(([cmr][5-8][a-z]*dn?)|(x2i?e?dn)|(z1d)|(i[3-8][a-z]*)|(im4gn)|(is4gen)|(d3e?n?)|(g4dn)|(g[56]e?))\\.[0-9]*(nano|micro|small|medium|large|xlarge|metal[0-9a-z-]*)$", var.instance_type))
    error_message = "instance_type must be a type with instance-store NVMe: a 'd' family (m6id, c6id, r6id, m7gd, m5d, ...), i3/i3en/i4i/i4g/i7ie/i8g, im4gn, is4gen, d3, g4dn, g5, z1d, x2idn."
  }
}

variable "instance_count" {
  description = "How many instances."
  type        = number
  default     = 2

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 100 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number from 1 to 100."
  }
}

variable "ami_id" {
  description = "AMI of the instances; empty for the newest Amazon Linux 2023 (x86_64 or arm64 after the instance type)."
  type        = string
  default     = ""
}

variable "vpc_id" {
  description = "VPC of the instances."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets the instances are spread over, round robin."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "ingress_cidrs" {
  description = "CIDR blocks allowed to reach the stages' HTTP ports (ingest webhook, infer /predict, /metrics on 9464)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.ingress_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "ingress_cidrs must be valid CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "service_ports" {
  description = "TCP ports the stages listen on (metrics/health, webhook, /predict)."
  type        = list(number)
  default     = [9464]

  validation {
    condition     = alltrue([for port in var.service_ports : port >= 1 && port <= 65535])
    error_message = "service_ports must be TCP ports from 1 to 65535."
  }
}

variable "root_volume_gib" {
  description = "Root EBS volume size (GiB); the staging area is on the NVMe, not here."
  type        = number
  default     = 30

  validation {
    condition     = var.root_volume_gib >= 8 && var.root_volume_gib <= 1024
    error_message = "root_volume_gib must be from 8 to 1024."
  }
}

variable "user_data" {
  description = "Shell script run as root at first boot: the NVMe bootstrap's install script, then whatever starts the stages."
  type        = string
}

variable "access_policy_json" {
  description = "IAM policy document attached to the instances' role (the bucket access)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
