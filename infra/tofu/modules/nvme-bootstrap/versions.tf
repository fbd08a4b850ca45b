# Renders only: no provider, no resource. Every variant takes the bootstrap from here.
terraform {
  required_version = ">= 1.8.0"
}
