# MLflow tracking server and model registry: PostgreSQL as the backend store, the pipeline's
# bucket (under mlflow/) as the artifact store, served through MLflow (--serve-artifacts) so the
# stages need no second set of S3 rights. Non-root, read-only root, no capabilities.
locals {
  labels = merge(var.labels, {
    "app.kubernetes.io/name"    = var.name
    "app.kubernetes.io/part-of" = "image-pipeline"
  })
  selector = { "app.kubernetes.io/name" = var.name }

  allowed_hosts = length(var.allowed_hosts) > 0 ? var.allowed_hosts : [
    var.name, "${var.name}:5000",
    "${var.name}.${var.namespace}", "${var.name}.${var.namespace}:5000",
    "${var.name}.${var.namespace}.svc", "${var.name}.${var.namespace}.svc:5000",
    "${var.name}.${var.namespace}.svc.cluster.local", "${var.name}.${var.namespace}.svc.cluster.local:5000",
    "localhost", "localhost:*",
  ]

  # Makes MLflow's database when it is missing: CREATE DATABASE cannot run in a transaction.
  create_database = <<-PY
    import os, psycopg2
    name = os.environ["MLFLOW_DATABASE"]
    connection = psycopg2.connect(os.environ["ADMIN_URL"])
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    if cursor.fetchone() is None:
        cursor.execute('CREATE DATABASE "%s"' % name)
  PY
}

resource "kubernetes_secret_v1" "backend" {
  metadata {
    name      = "${var.name}-backend"
    namespace = var.namespace
    labels    = local.labels
  }

  data = {
    MLFLOW_BACKEND_STORE_URI = var.backend_store_url
    ADMIN_URL                = var.admin_url
  }
}

resource "kubernetes_service_account_v1" "this" {
  metadata {
    name        = var.name
    namespace   = var.namespace
    labels      = local.labels
    annotations = var.service_account_annotations
  }

  automount_service_account_token = false
}

resource "kubernetes_deployment_v1" "this" {
  #checkov:skip=CKV_K8S_43:the image is pinned by tag (variable image, validated not latest); pin by digest there where a site mirrors images
  #checkov:skip=CKV_K8S_35:MLflow reads its backend URI from the environment ($(MLFLOW_BACKEND_STORE_URI) in args), not from a file
  metadata {
    name      = var.name
    namespace = var.namespace
    labels    = local.labels
  }

  spec {
    replicas = var.replicas

    selector {
      match_labels = local.selector
    }

    template {
      metadata {
        labels = local.labels
      }

      spec {
        service_account_name            = kubernetes_service_account_v1.this.metadata[0].name
        automount_service_account_token = length(var.service_account_annotations) > 0

        security_context {
          run_as_non_root = true
          run_as_user     = var.run_as_user
          run_as_group    = var.run_as_user

          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        dynamic "init_container" {
          for_each = var.admin_url == "" ? [] : [1]

          content {
            name              = "create-database"
            image             = var.image
            image_pull_policy = "Always"
            command           = ["python", "-c", local.create_database]

            env {
              name  = "MLFLOW_DATABASE"
              value = var.database_name
            }

            env {
              name = "ADMIN_URL"

              value_from {
                secret_key_ref {
                  name = kubernetes_secret_v1.backend.metadata[0].name
                  key  = "ADMIN_URL"
                }
              }
            }

            security_context {
              allow_privilege_escalation = false
              read_only_root_filesystem  = true
              run_as_non_root            = true

              capabilities {
                drop = ["ALL"]
              }
            }

            resources {
              requests = { cpu = "100m", memory = "128Mi" }
              limits   = { cpu = "500m", memory = "256Mi" }
            }
          }
        }

        container {
          name              = "mlflow"
          image             = var.image
          image_pull_policy = "Always"
          command           = ["mlflow"]
          args              = [
            "server",
            "--host=0.0.0.0",
            "--port=5000",
            "--backend-store-uri=$(MLFLOW_BACKEND_STORE_URI)",
            "--artifacts-destination=${var.artifacts_destination}",
            "--serve-artifacts",
            "--allowed-hosts=${join(",", local.allowed_hosts)}",
          ]

          env {
            name = "MLFLOW_BACKEND_STORE_URI"

            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.backend.metadata[0].name
                key  = "MLFLOW_BACKEND_STORE_URI"
              }
            }
          }

          env {
            name  = "AWS_DEFAULT_REGION"
            value = var.region
          }

          env {
            name  = "HOME"
            value = "/tmp"
          }

          dynamic "env" {
            for_each = var.s3_endpoint == "" ? [] : [var.s3_endpoint]

            content {
              name  = "MLFLOW_S3_ENDPOINT_URL"
              value = env.value
            }
          }

          dynamic "env_from" {
            for_each = var.s3_credentials_secret == "" ? [] : [var.s3_credentials_secret]

            content {
              secret_ref {
                name = env_from.value
              }
            }
          }

          port {
            name           = "http"
            container_port = 5000
          }

          liveness_probe {
            http_get {
              path = "/health"
              port = "http"
            }

            initial_delay_seconds = 20
            period_seconds        = 20
          }

          readiness_probe {
            http_get {
              path = "/health"
              port = "http"
            }

            period_seconds = 10
          }

          resources {
            requests = { cpu = var.cpu, memory = var.memory }
            limits   = { cpu = var.cpu, memory = var.memory }
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            run_as_non_root            = true

            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "tmp"

          empty_dir {
            size_limit = "1Gi"
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "this" {
  metadata {
    name      = var.name
    namespace = var.namespace
    labels    = local.labels
  }

  spec {
    selector = local.selector

    port {
      name        = "http"
      port        = 5000
      target_port = "http"
    }
  }
}
