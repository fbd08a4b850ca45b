# An EKS managed node group of instance-store NVMe types on Amazon Linux 2023.
#
# Local disks: AL2023's nodeadm can RAID0 the instance store itself (NodeConfig
# spec.instance.localStorage.strategy: RAID0) and mount it at /mnt/k8s-disks, moving the
# kubelet's and containerd's state there. We leave localStorage unset, so nodeadm does not touch
# the disks, and run our own bootstrap as a text/x-shellscript part instead: cloud-init runs it
# before nodeadm-run starts the kubelet, and it mounts at /mnt/nvme, the path the manifests use,
# with the device pattern, RAID and file system chosen here. Its unit runs it again at every boot
# (a stop/start brings empty disks). Both at once would fight over the same devices.
data "aws_partition" "current" {}

data "cloudinit_config" "user_data" {
  gzip          = false
  base64_encode = true
  boundary      = "//"

  # Merged by nodeadm with the NodeConfig EKS adds (cluster name, endpoint, CA).
  part {
    content_type = "application/node.eks.aws"
    filename     = "nodeconfig.yaml"
    content      = yamlencode({
      apiVersion = "node.eks.aws/v1alpha1"
      kind       = "NodeConfig"
      spec       = {
        kubelet = {
          config = {
            # Stages get SIGTERM on node shutdown and release their work claims.
            shutdownGracePeriod             = "90s"
            shutdownGracePeriodCriticalPods = "15s"
          }
        }
      }
    })
  }

  part {
    content_type = "text/x-shellscript"
    filename     = "nvme-bootstrap.sh"
    content      = var.bootstrap_script
  }
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

resource "aws_iam_role" "node" {
  name_prefix        = "${substr(var.name, 0, 32)}-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
  ])
  role       = aws_iam_role.node.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.value}"
}

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name}-"
  description            = "image pipeline NVMe nodes: the NVMe bootstrap in user data"
  user_data              = data.cloudinit_config.user_data.rendered
  update_default_version = true
  tags                   = var.tags

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_gib
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = var.name })
  }
}

resource "aws_eks_node_group" "this" {
  cluster_name    = var.cluster_name
  node_group_name = var.name
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids
  ami_type        = var.ami_type
  capacity_type   = var.capacity_type
  instance_types  = var.instance_types
  labels          = var.labels
  tags            = var.tags

  scaling_config {
    min_size     = var.min_size
    desired_size = var.desired_size
    max_size     = var.max_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  dynamic "taint" {
    for_each = var.taint_nvme ? [1] : []

    content {
      key    = "image-pipeline/nvme"
      value  = "true"
      effect = "NO_SCHEDULE"
    }
  }

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]

    precondition {
      condition     = var.min_size <= var.desired_size && var.desired_size <= var.max_size
      error_message = "Node counts must satisfy min_size <= desired_size <= max_size."
    }
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}
