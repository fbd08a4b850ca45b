# rke2: existing hosts over SSH become an RKE2 cluster. NVMe agents run the one NVMe bootstrap
# first (its unit orders itself before rke2-agent), then join labelled and tainted
# image-pipeline/nvme; the first server also deploys local-path-provisioner pointed at the NVMe
# mount. PostgreSQL and the S3-compatible store are existing ones. A second apply with
# enable_cluster_resources = true adds the namespace, the credentials Secret and MLflow.
provider "kubernetes" {
  config_path = var.enable_cluster_resources ? pathexpand(var.kubeconfig_path) : null
}

resource "random_password" "token" {
  length  = 48
  special = false
}

module "nvme" {
  source           = "../modules/nvme-bootstrap"
  device_pattern   = var.nvme_device_pattern
  raid             = var.nvme_raid
  filesystem       = var.nvme_filesystem
  mount_options    = var.nvme_mount_options
  mount_path       = var.nvme_mount_path
  install_packages = var.install_packages
}

locals {
  first_server = var.servers[0]
  join_url     = "https://${local.first_server.host}:9345"
  nvme_agents  = { for agent in var.agents : agent.name => agent if agent.nvme }
  all_agents   = { for agent in var.agents : agent.name => agent }
  more_servers = { for server in slice(var.servers, 1, length(var.servers)) : server.name => server }

  local_path_root     = "${var.nvme_mount_path}/local-path"
  local_path_manifest = templatefile("${path.module}/templates/local-path-storage.yaml.tftpl", {
    image         = var.local_path_image
    helper_image  = "docker.io/library/busybox:1.37"
    storage_class = "local-path"
    path          = local.local_path_root
  })

  server_config = {
    token                 = random_password.token.result
    cluster-cidr          = var.cluster_cidr
    service-cidr          = var.service_cidr
    tls-san               = [for server in var.servers : server.host]
    write-kubeconfig-mode = "0600"
  }

  install = "curl -sfL https://get.rke2.io | sudo INSTALL_RKE2_VERSION='${var.rke2_version}' INSTALL_RKE2_TYPE"

  private_key = var.ssh_private_key_path == "" ? null : file(pathexpand(var.ssh_private_key_path))
}

# The NVMe first, so the staging mount exists before the kubelet starts.
resource "terraform_data" "nvme" {
  for_each         = local.nvme_agents
  triggers_replace = [module.nvme.install_script]

  connection {
    type        = "ssh"
    host        = each.value.host
    user        = var.ssh_user
    private_key = local.private_key
    agent       = local.private_key == null
  }

  provisioner "file" {
    content     = module.nvme.install_script
    destination = "/tmp/nvme-bootstrap-install.sh"
  }

  provisioner "remote-exec" {
    inline = [
      "sudo bash /tmp/nvme-bootstrap-install.sh",
      "rm -f /tmp/nvme-bootstrap-install.sh",
      "findmnt ${var.nvme_mount_path}",
    ]
  }
}

resource "terraform_data" "first_server" {
  triggers_replace = [var.rke2_version, sha256(yamlencode(local.server_config)), sha256(local.local_path_manifest)]

  connection {
    type        = "ssh"
    host        = local.first_server.host
    user        = var.ssh_user
    private_key = local.private_key
    agent       = local.private_key == null
  }

  provisioner "file" {
    content     = yamlencode(local.server_config)
    destination = "/tmp/rke2-config.yaml"
  }

  provisioner "file" {
    content     = local.local_path_manifest
    destination = "/tmp/image-pipeline-local-path.yaml"
  }

  provisioner "remote-exec" {
    inline = [
      "sudo install -D -m 0600 /tmp/rke2-config.yaml /etc/rancher/rke2/config.yaml && rm -f /tmp/rke2-config.yaml",
      "sudo install -D -m 0644 /tmp/image-pipeline-local-path.yaml /var/lib/rancher/rke2/server/manifests/image-pipeline-local-path.yaml",
      "${local.install}=server sh -",
      "sudo systemctl enable --now rke2-server.service",
    ]
  }
}

resource "terraform_data" "servers" {
  for_each         = local.more_servers
  triggers_replace = [var.rke2_version, sha256(yamlencode(local.server_config))]

  connection {
    type        = "ssh"
    host        = each.value.host
    user        = var.ssh_user
    private_key = local.private_key
    agent       = local.private_key == null
  }

  provisioner "file" {
    content     = yamlencode(merge(local.server_config, { server = local.join_url }))
    destination = "/tmp/rke2-config.yaml"
  }

  provisioner "remote-exec" {
    inline = [
      "sudo install -D -m 0600 /tmp/rke2-config.yaml /etc/rancher/rke2/config.yaml && rm -f /tmp/rke2-config.yaml",
      "${local.install}=server sh -",
      "sudo systemctl enable --now rke2-server.service",
    ]
  }

  depends_on = [terraform_data.first_server]
}

resource "terraform_data" "agents" {
  for_each         = local.all_agents
  triggers_replace = [var.rke2_version, sha256(yamlencode({
    server     = local.join_url
    token      = random_password.token.result
    node-label = each.value.nvme ? ["image-pipeline/nvme=true"] : []
    node-taint = each.value.nvme ? ["image-pipeline/nvme=true:NoSchedule"] : []
  }))]

  connection {
    type        = "ssh"
    host        = each.value.host
    user        = var.ssh_user
    private_key = local.private_key
    agent       = local.private_key == null
  }

  provisioner "file" {
    content = yamlencode({
      server     = local.join_url
      token      = random_password.token.result
      node-label = each.value.nvme ? ["image-pipeline/nvme=true"] : []
      node-taint = each.value.nvme ? ["image-pipeline/nvme=true:NoSchedule"] : []
    })
    destination = "/tmp/rke2-config.yaml"
  }

  provisioner "remote-exec" {
    inline = [
      "sudo install -D -m 0600 /tmp/rke2-config.yaml /etc/rancher/rke2/config.yaml && rm -f /tmp/rke2-config.yaml",
      "${local.install}=agent sh -",
      "sudo systemctl enable --now rke2-agent.service",
    ]
  }

  depends_on = [terraform_data.first_server, terraform_data.nvme]
}

locals {
  postgres_base  = "${var.postgres_user}:${var.postgres_password}@${var.postgres_host}:${var.postgres_port}"
  manifest_url   = "postgres://${local.postgres_base}/${var.postgres_database}?sslmode=${var.postgres_sslmode}"
  mlflow_backend = "postgres://${local.postgres_base}/mlflow?sslmode=${var.postgres_sslmode}"
}

# hostPath staging needs the privileged Pod Security level (as infra/k8s/overlays/rke2).
resource "kubernetes_namespace_v1" "pipeline" {
  count = var.enable_cluster_resources ? 1 : 0

  metadata {
    name   = var.namespace
    labels = { "pod-security.kubernetes.io/enforce" = "privileged" }
  }
}

resource "kubernetes_secret_v1" "credentials" {
  count = var.enable_cluster_resources ? 1 : 0

  metadata {
    name      = "image-pipeline-credentials"
    namespace = kubernetes_namespace_v1.pipeline[0].metadata[0].name
  }

  data = {
    PIPELINE_MANIFEST_URL = local.manifest_url
    AWS_ACCESS_KEY_ID     = var.s3_access_key_id
    AWS_SECRET_ACCESS_KEY = var.s3_secret_access_key
  }
}

module "mlflow" {
  source                = "../modules/mlflow-kubernetes"
  count                 = var.enable_cluster_resources ? 1 : 0
  namespace             = kubernetes_namespace_v1.pipeline[0].metadata[0].name
  image                 = var.mlflow_image
  backend_store_url     = local.mlflow_backend
  admin_url             = local.manifest_url
  artifacts_destination = "s3://${var.bucket}/mlflow"
  s3_endpoint           = var.s3_endpoint
  region                = var.s3_region
  s3_credentials_secret = kubernetes_secret_v1.credentials[0].metadata[0].name
}

locals {
  mlflow_url = var.enable_cluster_resources ? module.mlflow[0].url : "http://mlflow.${var.namespace}.svc:5000"
}

module "pipeline_config" {
  source              = "../modules/pipeline-config"
  object_store_url    = "s3://${var.bucket}/"
  s3_endpoint         = var.s3_endpoint
  region              = var.s3_region
  addressing          = "path"
  staging_root        = "/mnt/nvme"
  mlflow_tracking_uri = local.mlflow_url
  train_backend       = "kubernetes"
  train_image         = var.train_image
  train_namespace     = var.namespace
}
