# MLflow on one small EC2 instance, for the aws variant (no Kubernetes there): the container
# runs under systemd with the backend URI read from an SSM SecureString at boot, so no password
# is in user data; artifacts go to the bucket through the instance role.
data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "aws_ssm_parameter" "backend" {
  name   = "/${var.name}/mlflow/backend-store-uri"
  type   = "SecureString"
  key_id = var.kms_key_arn
  value  = var.backend_store_url
  tags   = var.tags
}

resource "aws_ssm_parameter" "admin" {
  name   = "/${var.name}/mlflow/admin-url"
  type   = "SecureString"
  key_id = var.kms_key_arn
  value  = var.admin_url == "" ? "none" : var.admin_url
  tags   = var.tags
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

data "aws_iam_policy_document" "parameters" {
  statement {
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.backend.arn, aws_ssm_parameter.admin.arn]
  }

  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-mlflow-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "artifacts" {
  name   = "artifacts"
  role   = aws_iam_role.this.id
  policy = var.access_policy_json
}

resource "aws_iam_role_policy" "parameters" {
  name   = "parameters"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.parameters.json
}

resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "this" {
  name_prefix = "${var.name}-mlflow-"
  role        = aws_iam_role.this.name
  tags        = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-mlflow-"
  description = "MLflow for the image pipeline"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_groups" {
  for_each                     = toset(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  description                  = "MLflow from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = 5000
  to_port                      = 5000
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "from_cidrs" {
  for_each          = toset(var.client_cidrs)
  security_group_id = aws_security_group.this.id
  description       = "MLflow from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 5000
  to_port           = 5000
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  #checkov:skip=CKV_AWS_382:MLflow reaches S3, RDS, SSM and the image registry; narrow with VPC endpoints where a site wants it
  security_group_id = aws_security_group.this.id
  description       = "S3, PostgreSQL, SSM, image registry"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

locals {
  region = data.aws_region.current.region

  user_data = <<-SCRIPT
    #!/bin/bash
    # MLflow as a systemd service; secrets come from SSM at every start, not from user data.
    set -euo pipefail
    dnf install -y docker
    systemctl enable --now docker
    cat > /usr/local/sbin/mlflow-start <<'START'
    #!/bin/bash
    set -euo pipefail
    backend=$(aws ssm get-parameter --region ${local.region} --with-decryption --name ${aws_ssm_parameter.backend.name} --query Parameter.Value --output text)
    admin=$(aws ssm get-parameter --region ${local.region} --with-decryption --name ${aws_ssm_parameter.admin.name} --query Parameter.Value --output text)
    if [ "$admin" != none ]; then
      docker run --rm -e ADMIN_URL="$admin" ${var.image} python -c '
    import os, psycopg2
    connection = psycopg2.connect(os.environ["ADMIN_URL"]); connection.autocommit = True
    cursor = connection.cursor(); cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", ("${var.database_name}",))
    if cursor.fetchone() is None: cursor.execute("CREATE DATABASE ${var.database_name}")'
    fi
    exec docker run --rm --name mlflow --network host --read-only --tmpfs /tmp -e HOME=/tmp \
      -e AWS_DEFAULT_REGION=${local.region} -e MLFLOW_BACKEND_STORE_URI="$backend" \
      ${var.image} sh -c 'exec mlflow server --host 0.0.0.0 --port 5000 --backend-store-uri "$MLFLOW_BACKEND_STORE_URI" --artifacts-destination ${var.artifacts_destination} --serve-artifacts --allowed-hosts "*"'
    START
    chmod 0755 /usr/local/sbin/mlflow-start
    cat > /etc/systemd/system/mlflow.service <<'UNIT'
    [Unit]
    Description=MLflow tracking server for the image pipeline
    After=docker.service network-online.target
    Requires=docker.service

    [Service]
    ExecStart=/usr/local/sbin/mlflow-start
    Restart=always
    RestartSec=5

    [Install]
    WantedBy=multi-user.target
    UNIT
    systemctl daemon-reload
    systemctl enable --now mlflow.service
  SCRIPT
}

resource "aws_instance" "this" {
  ami                         = nonsensitive(data.aws_ssm_parameter.al2023.value)
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  user_data_base64            = base64gzip(local.user_data)
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
    volume_size           = 30
    encrypted             = true
    delete_on_termination = true
  }

  tags = merge(var.tags, { Name = "${var.name}-mlflow" })

  lifecycle {
    ignore_changes = [ami]
  }
}
