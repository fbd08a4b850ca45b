# The pipeline configuration file every stage reads (--config /etc/image-pipeline/pipeline.yaml),
# with the keys config/pipeline.example.yaml documents. Secrets never go in it: the manifest URL
# (it carries the password), S3 keys, the webhook token and MLflow's token come from the
# environment, from the Secret image-pipeline-credentials on Kubernetes.
locals {
  object_store = merge(
    { url = var.object_store_url, region = var.region, addressing = var.addressing },
    var.s3_endpoint == "" ? {} : { endpoint = var.s3_endpoint },
  )

  train = merge(
    { backend = var.train_backend, nodes = var.train_nodes },
    var.train_image == "" ? {} : { image = var.train_image },
    var.train_namespace == "" ? {} : { namespace = var.train_namespace },
  )

  sections = {
    object_store  = local.object_store
    manifest      = { pool_size = var.manifest_pool_size }
    staging       = { root = var.staging_root, reserve_mib = var.staging_reserve_mib }
    ingest        = { dataset = var.dataset }
    train         = local.train
    mlflow        = { tracking_uri = var.mlflow_tracking_uri, experiment = var.mlflow_experiment }
    observability = { log_format = var.log_format, metrics_host = var.metrics_host, metrics_port = var.metrics_port }
  }

  document = {
    for section in setunion(keys(local.sections), keys(var.overrides)) :
    section => merge(lookup(local.sections, section, {}), lookup(var.overrides, section, {}))
  }

  secret_environment = [
    "PIPELINE_MANIFEST_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PIPELINE_WEBHOOK_TOKEN",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "LABEL_STUDIO_API_KEY",
  ]

  yaml = join("", [
    "# Rendered by infra/tofu/modules/pipeline-config; check with: pipelinectl config check --config FILE\n",
    "# Secrets are not here: set ${join(", ", local.secret_environment)} in the environment\n",
    "# (on Kubernetes, the Secret image-pipeline-credentials).\n",
    yamlencode(local.document),
  ])
}
