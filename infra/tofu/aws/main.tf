# aws: EC2 instances with instance-store NVMe run the stages as processes or containers; S3,
# RDS PostgreSQL and an MLflow instance beside them. The NVMe bootstrap is the nodes' user data.
provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "bucket" {
  source      = "../modules/object-store"
  bucket_name = var.bucket_name
  tags        = var.tags
}

module "postgres" {
  source              = "../modules/postgres"
  identifier          = var.name
  vpc_id              = var.vpc_id
  subnet_ids          = var.private_subnet_ids
  instance_class      = var.postgres_instance_class
  multi_az            = var.postgres_multi_az
  deletion_protection = var.deletion_protection
  tags                = var.tags

  allowed_security_group_ids = [module.nodes.security_group_id, module.mlflow.security_group_id]
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

module "nodes" {
  source             = "../modules/nvme-instances"
  name               = var.name
  instance_type      = var.instance_type
  instance_count     = var.instance_count
  vpc_id             = var.vpc_id
  subnet_ids         = var.private_subnet_ids
  ingress_cidrs      = var.client_cidrs
  user_data          = join("\n", [module.nvme.install_script, var.stages_user_data])
  access_policy_json = module.bucket.access_policy_json
  tags               = var.tags
}

locals {
  postgres_host  = module.postgres.host
  mlflow_backend = "postgres://${module.postgres.username}:${module.postgres.password}@${local.postgres_host}:5432/mlflow?sslmode=require"
}

module "mlflow" {
  source                    = "../modules/mlflow-ec2"
  name                      = var.name
  image                     = var.mlflow_image
  vpc_id                    = var.vpc_id
  subnet_id                 = var.private_subnet_ids[0]
  client_security_group_ids = [module.nodes.security_group_id]
  client_cidrs              = var.client_cidrs
  backend_store_url         = local.mlflow_backend
  admin_url                 = module.postgres.url
  artifacts_destination     = "s3://${module.bucket.bucket}/mlflow"
  access_policy_json        = module.bucket.access_policy_json
  kms_key_arn               = module.bucket.kms_key_arn
  tags                      = var.tags
}

module "pipeline_config" {
  source              = "../modules/pipeline-config"
  object_store_url    = module.bucket.url
  region              = var.region
  staging_root        = var.nvme_mount_path
  mlflow_tracking_uri = module.mlflow.url
  train_backend       = "builtin"
}
