output "url" {
  description = "MLflow's URL inside the cluster (mlflow.tracking_uri)."
  value       = "http://${kubernetes_service_v1.this.metadata[0].name}.${var.namespace}.svc:5000"
}

output "service_account" {
  description = "MLflow's ServiceAccount (give it the bucket through IRSA on EKS)."
  value       = kubernetes_service_account_v1.this.metadata[0].name
}
