# EC2 instances whose instance-store NVMe is the staging area. NVMe instance stores need no
# block device mapping: they appear as /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*
# and the bootstrap in user data (and its unit at every boot) makes /mnt/nvme of them.
data "aws_partition" "current" {}

data "aws_ec2_instance_type" "this" {
  instance_type = var.instance_type
}

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${contains(data.aws_ec2_instance_type.this.supported_architectures, "arm64") ? "arm64" : "x86_64"}"
}

locals {
  ami_id = var.ami_id != "" ? var.ami_id : nonsensitive(data.aws_ssm_parameter.al2023.value)
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "access" {
  name   = "bucket-access"
  role   = aws_iam_role.this.id
  policy = var.access_policy_json
}

# Shell access through Session Manager instead of an open SSH port.
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "this" {
  name_prefix = "${var.name}-"
  role        = aws_iam_role.this.name
  tags        = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-"
  description = "image pipeline NVMe nodes"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "services" {
  for_each          = { for pair in setproduct(var.ingress_cidrs, var.service_ports) : "${pair[0]}:${pair[1]}" => pair }
  security_group_id = aws_security_group.this.id
  description       = "stage HTTP port ${each.value[1]}"
  ip_protocol       = "tcp"
  from_port         = each.value[1]
  to_port           = each.value[1]
  cidr_ipv4         = each.value[0]
}

resource "aws_vpc_security_group_egress_rule" "all" {
  #checkov:skip=CKV_AWS_382:the stages reach S3, RDS, MLflow and package mirrors; egress is narrowed by VPC endpoints and NACLs where a site wants it
  security_group_id = aws_security_group.this.id
  description       = "S3, PostgreSQL, MLflow, package mirrors"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_instance" "this" {
  count                       = var.instance_count
  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_ids[count.index % length(var.subnet_ids)]
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  user_data_base64            = base64gzip(var.user_data)
  user_data_replace_on_change = true
  monitoring                  = true
  ebs_optimized               = true
  associate_public_ip_address = false

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_gib
    encrypted             = true
    delete_on_termination = true
  }

  tags = merge(var.tags, { Name = "${var.name}-${count.index}", "image-pipeline/nvme" = "true" })

  lifecycle {
    ignore_changes = [ami]

    precondition {
      condition     = data.aws_ec2_instance_type.this.instance_storage_supported
      error_message = "${var.instance_type} has no instance store: pick a type with instance-store NVMe."
    }
  }
}
