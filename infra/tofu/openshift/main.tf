# openshift: the NVMe staging area on RHCOS nodes, by a MachineConfig that runs the one NVMe
# bootstrap from a systemd unit (mount under /var: /var/mnt/nvme), or the Local Storage Operator
# alternative; MLflow and the credentials Secret in the pipeline's namespace. PostgreSQL and the
# S3-compatible store are existing ones. Then: oc apply -k infra/k8s/overlays/openshift.
# Not on ROSA or OSD: see README.md (no custom MachineConfigs there).
provider "kubernetes" {
  config_path    = pathexpand(var.kubeconfig_path)
  config_context = var.kubeconfig_context == "" ? null : var.kubeconfig_context
}

module "nvme" {
  source         = "../modules/nvme-bootstrap"
  device_pattern = var.nvme_device_pattern
  raid           = var.nvme_raid
  filesystem     = var.nvme_filesystem
  mount_options  = var.nvme_mount_options
  mount_path     = var.nvme_mount_path
  mount_method   = "systemd"
  # RHCOS ships mdadm and xfsprogs; /usr is read-only, /usr/local is /var/usrlocal.
  install_packages = ""
}

locals {
  # Ignition 3.2 (OpenShift 4.x): the script and its settings as files, the unit that runs it.
  machine_config = {
    apiVersion = "machineconfiguration.openshift.io/v1"
    kind       = "MachineConfig"
    metadata   = {
      name   = "99-${var.machine_config_pool}-image-pipeline-nvme"
      labels = { "machineconfiguration.openshift.io/role" = var.machine_config_pool }
    }
    spec = {
      config = {
        ignition = { version = "3.2.0" }
        storage  = {
          files = [
            {
              path      = module.nvme.script_path
              mode      = 493
              overwrite = true
              contents  = { source = "data:text/plain;charset=utf-8;base64,${base64encode(module.nvme.script)}" }
            },
            {
              path      = module.nvme.environment_file
              mode      = 420
              overwrite = true
              contents  = { source = "data:text/plain;charset=utf-8;base64,${base64encode(module.nvme.environment_file_content)}" }
            },
          ]
        }
        systemd = {
          units = [{ name = module.nvme.unit_name, enabled = true, contents = module.nvme.unit }]
        }
      }
    }
  }

  # The operator alternative: one PersistentVolume per device, no RAID, formatted by the operator.
  local_volume = {
    apiVersion = "local.storage.openshift.io/v1"
    kind       = "LocalVolume"
    metadata   = { name = "image-pipeline-nvme", namespace = "openshift-local-storage" }
    spec       = {
      nodeSelector = {
        nodeSelectorTerms = [{
          matchExpressions = [{ key = "image-pipeline/nvme", operator = "In", values = ["true"] }]
        }]
      }
      tolerations         = [{ key = "image-pipeline/nvme", operator = "Exists", effect = "NoSchedule" }]
      storageClassDevices = [{
        storageClassName = "image-pipeline-nvme"
        volumeMode       = "Filesystem"
        fsType           = var.nvme_filesystem
        devicePaths      = var.local_volume_device_paths
      }]
    }
  }

  postgres_base  = "${var.postgres_user}:${var.postgres_password}@${var.postgres_host}:${var.postgres_port}"
  manifest_url   = "postgres://${local.postgres_base}/${var.postgres_database}?sslmode=${var.postgres_sslmode}"
  mlflow_backend = "postgres://${local.postgres_base}/mlflow?sslmode=${var.postgres_sslmode}"
}

# The Machine Config Operator rolls this out pool by pool and reboots each node.
resource "kubernetes_manifest" "machine_config" {
  count    = var.storage_mode == "machineconfig" ? 1 : 0
  manifest = local.machine_config
}

resource "kubernetes_manifest" "local_volume" {
  count    = var.storage_mode == "local-storage-operator" ? 1 : 0
  manifest = local.local_volume

  lifecycle {
    precondition {
      condition     = length(var.local_volume_device_paths) > 0
      error_message = "local-storage-operator mode needs local_volume_device_paths."
    }
  }
}

resource "kubernetes_labels" "nvme" {
  for_each    = toset(var.nvme_node_names)
  api_version = "v1"
  kind        = "Node"
  labels      = { "image-pipeline/nvme" = "true" }

  metadata {
    name = each.value
  }
}

resource "kubernetes_node_taint" "nvme" {
  for_each = toset(var.nvme_node_names)

  metadata {
    name = each.value
  }

  taint {
    key    = "image-pipeline/nvme"
    value  = "true"
    effect = "NoSchedule"
  }
}

# hostPath staging needs the privileged Pod Security level (as infra/k8s/overlays/openshift).
resource "kubernetes_namespace_v1" "pipeline" {
  metadata {
    name   = var.namespace
    labels = { "pod-security.kubernetes.io/enforce" = "privileged" }
  }
}

resource "kubernetes_secret_v1" "credentials" {
  metadata {
    name      = "image-pipeline-credentials"
    namespace = kubernetes_namespace_v1.pipeline.metadata[0].name
  }

  data = {
    PIPELINE_MANIFEST_URL = local.manifest_url
    AWS_ACCESS_KEY_ID     = var.s3_access_key_id
    AWS_SECRET_ACCESS_KEY = var.s3_secret_access_key
  }
}

module "mlflow" {
  source                = "../modules/mlflow-kubernetes"
  namespace             = kubernetes_namespace_v1.pipeline.metadata[0].name
  image                 = var.mlflow_image
  backend_store_url     = local.mlflow_backend
  admin_url             = local.manifest_url
  artifacts_destination = "s3://${var.bucket}/mlflow"
  s3_endpoint           = var.s3_endpoint
  region                = var.s3_region
  s3_credentials_secret = kubernetes_secret_v1.credentials.metadata[0].name
  # restricted-v2 assigns the UID from the namespace's range.
  run_as_user = null
}

module "pipeline_config" {
  source              = "../modules/pipeline-config"
  object_store_url    = "s3://${var.bucket}/"
  s3_endpoint         = var.s3_endpoint
  region              = var.s3_region
  addressing          = "path"
  staging_root        = "/mnt/nvme"
  mlflow_tracking_uri = module.mlflow.url
  train_backend       = "kubernetes"
  train_image         = var.train_image
  train_namespace     = var.namespace
}
