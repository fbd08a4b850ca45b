# eks: an NVMe managed node group joins an existing cluster; S3, RDS PostgreSQL and MLflow (in
# the cluster) beside it; IRSA gives the stages' service accounts and MLflow the bucket.
# Then: kubectl apply -k infra/k8s/overlays/eks (role ARN and image names patched there).
provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

provider "kubernetes" {
  host                   = data.aws_eks_cluster.this.endpoint
  cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", var.cluster_name, "--region", var.region]
  }
}

locals {
  vpc_id          = data.aws_eks_cluster.this.vpc_config[0].vpc_id
  cluster_subnets = tolist(data.aws_eks_cluster.this.vpc_config[0].subnet_ids)
  cluster_sg      = data.aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  oidc_issuer     = trimprefix(data.aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://")
}

module "bucket" {
  source      = "../modules/object-store"
  bucket_name = var.bucket_name
  tags        = var.tags
}

module "nvme" {
  source           = "../modules/nvme-bootstrap"
  device_pattern   = var.nvme_device_pattern
  raid             = var.nvme_raid
  filesystem       = var.nvme_filesystem
  mount_options    = var.nvme_mount_options
  mount_path       = var.nvme_mount_path
  install_packages = "dnf install -y mdadm xfsprogs e2fsprogs"
}

module "node_group" {
  source           = "../modules/eks-nvme-node-group"
  cluster_name     = var.cluster_name
  name             = "${var.name}-nvme"
  subnet_ids       = length(var.node_subnet_ids) > 0 ? var.node_subnet_ids : local.cluster_subnets
  instance_types   = var.instance_types
  ami_type         = var.ami_type
  min_size         = var.node_min
  desired_size     = var.node_desired
  max_size         = var.node_max
  bootstrap_script = module.nvme.install_script
  tags             = var.tags
}

# Managed nodes without security groups in their launch template get the cluster security
# group, so that group is what the database lets in.
module "postgres" {
  source                     = "../modules/postgres"
  identifier                 = var.name
  vpc_id                     = local.vpc_id
  subnet_ids                 = length(var.database_subnet_ids) > 0 ? var.database_subnet_ids : local.cluster_subnets
  instance_class             = var.postgres_instance_class
  deletion_protection        = var.deletion_protection
  allowed_security_group_ids = [local.cluster_sg]
  tags                       = var.tags
}

# IRSA: the cluster's OIDC provider lets exactly these service accounts assume the role.
data "aws_iam_openid_connect_provider" "cluster" {
  url = data.aws_eks_cluster.this.identity[0].oidc[0].issuer
}

data "aws_iam_policy_document" "irsa" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [data.aws_iam_openid_connect_provider.cluster.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = [for account in concat(var.stage_service_accounts, ["mlflow"]) : "system:serviceaccount:${var.namespace}:${account}"]
    }
  }
}

resource "aws_iam_role" "stages" {
  name               = "${var.name}-stages"
  assume_role_policy = data.aws_iam_policy_document.irsa.json
}

resource "aws_iam_role_policy" "stages_bucket" {
  name   = "bucket-access"
  role   = aws_iam_role.stages.id
  policy = module.bucket.access_policy_json
}

# hostPath staging needs the privileged Pod Security level (as infra/k8s/overlays/eks).
resource "kubernetes_namespace_v1" "pipeline" {
  metadata {
    name   = var.namespace
    labels = { "pod-security.kubernetes.io/enforce" = "privileged" }
  }
}

locals {
  mlflow_backend = "postgres://${module.postgres.username}:${module.postgres.password}@${module.postgres.host}:5432/mlflow?sslmode=require"
}

module "mlflow" {
  source                      = "../modules/mlflow-kubernetes"
  namespace                   = kubernetes_namespace_v1.pipeline.metadata[0].name
  image                       = var.mlflow_image
  backend_store_url           = local.mlflow_backend
  admin_url                   = module.postgres.url
  artifacts_destination       = "s3://${module.bucket.bucket}/mlflow"
  region                      = var.region
  service_account_annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.stages.arn }
}

resource "kubernetes_secret_v1" "credentials" {
  count = var.create_credentials_secret ? 1 : 0

  metadata {
    name      = "image-pipeline-credentials"
    namespace = kubernetes_namespace_v1.pipeline.metadata[0].name
  }

  # No S3 keys: IRSA. Only what the configuration file must not carry.
  data = {
    PIPELINE_MANIFEST_URL = module.postgres.url
  }
}

module "pipeline_config" {
  source              = "../modules/pipeline-config"
  object_store_url    = module.bucket.url
  region              = var.region
  staging_root        = "/mnt/nvme"
  mlflow_tracking_uri = module.mlflow.url
  train_backend       = "kubernetes"
  train_image         = var.train_image
  train_namespace     = var.namespace
  train_nodes         = 2
}
